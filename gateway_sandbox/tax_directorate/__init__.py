"""Tax directorate (DGI) sandbox: a JSON REST service over mutual TLS with synthetic taxpayers."""

from gateway_sandbox.tax_directorate.records import TaxRecords, build
from gateway_sandbox.tax_directorate.server import make_app, make_ssl_context

__all__ = ["TaxRecords", "build", "make_app", "make_ssl_context"]
