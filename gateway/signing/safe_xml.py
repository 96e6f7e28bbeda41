"""Safe parsing of XML from outside: entities, DTDs and the network off.

A document that declares a DTD or holds an entity reference is refused outright, as signxml
does itself. Requests (check 1) and sealed documents sent for verification are both read
through `parse_xml`.
"""

from __future__ import annotations

from lxml import etree

from gateway.errors import Malformed

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=False)


def parse_xml(body: bytes) -> etree._Element:
    """A safely parsed XML document, or `malformed`."""
    try:
        doc = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise Malformed(f"XML is not well-formed: {exc}") from None
    tree = doc.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None:
        raise Malformed("XML with a DTD is refused")
    for node in doc.iter(etree.Entity):  # an undeclared entity reference survives parsing
        raise Malformed(f"XML entity reference {node.text!r} is refused")
    if doc.tag is etree.Comment or doc.tag is etree.PI:
        raise Malformed("XML has no root element")
    return doc
