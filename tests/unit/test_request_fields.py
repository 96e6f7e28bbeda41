"""The request's fields are read from the signed element's children in the exchange namespace only."""

from __future__ import annotations

from lxml import etree

from gateway.pipeline.verify import xml_fields
from gateway.protocol import NS


def test_fields_come_from_exchange_namespace_children_only() -> None:
    """Children in another namespace (even one that begins like ours), comments and processing
    instructions are not fields; Subject's children become nin/nif/rc; an empty element reads ''."""
    root = etree.fromstring(
        f'<DocumentRequest xmlns="{NS}" xmlns:o="urn:other" xmlns:p="{NS}x">'
        "<RequestId>r-1</RequestId><!-- c --><?pi x?><o:Purpose>forged</o:Purpose><p:Agency>forged</p:Agency>"
        "<Purpose>family-allowance</Purpose><Agent/><Subject><NIN>119331602000001060</NIN><!-- c --></Subject>"
        "</DocumentRequest>".encode()
    )
    assert xml_fields(root) == {
        "requestId": "r-1",
        "purpose": "family-allowance",
        "agent": "",
        "subject": {"nin": "119331602000001060"},
    }
