"""Commercial register (CNRC) sandbox: a SOAP 1.1 service answering signed register extracts."""

from gateway_sandbox.commercial_register.records import RegisterRecords, build
from gateway_sandbox.commercial_register.server import make_app

__all__ = ["RegisterRecords", "build", "make_app"]
