"""The XSDs and JSON Schemas of requests and responses, per document type, served at
`GET /v1/schemas/<name>`, and compiled once to check requests (docs/protocol.md, check 4).

XML goes through lxml's XMLSchema (the fast path); JSON through `jsonschema`. The common
envelope takes any DocumentType token; the schema of a known type then fixes its Subject and
Data.

May import only errors and the protocol constants.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree
from referencing import Registry, Resource

from gateway.errors import SchemaInvalid

SCHEMA_DIR = Path(str(resources.files("gateway") / "schemas"))
COMMON_XSD = ("common", "request", "response")


def _files(extra_dir: Path | None) -> dict[str, Path]:
    """Every schema file by name: the package's, then those stored with types added at run time."""
    out = {p.name: p for p in SCHEMA_DIR.iterdir() if p.suffix in (".xsd", ".json")}
    if extra_dir is not None and extra_dir.is_dir():
        for p in extra_dir.iterdir():
            if p.suffix in (".xsd", ".json"):
                out.setdefault(p.name, p)
    return out


def schema_names(extra_dir: Path | None = None) -> list[str]:
    """The files served at GET /v1/schemas/<name>."""
    return sorted(_files(extra_dir))


def schema_path(name: str, extra_dir: Path | None = None) -> Path | None:
    """The path of a served schema, or None (the name is checked, never joined blindly)."""
    return _files(extra_dir).get(name)


@dataclass(frozen=True)
class SchemaFiles:
    """A document type's two schemas, as text and as a JSON document."""

    name: str
    xsd: str
    json_schema: Mapping[str, Any]

    def write(self, folder: Path) -> None:
        (folder / f"{self.name}.xsd").write_text(self.xsd, encoding="utf-8")
        (folder / f"{self.name}.schema.json").write_text(json.dumps(self.json_schema, indent=2) + "\n", "utf-8")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _xsd_at(path: Path) -> etree.XMLSchema:
    """An XSD, its `common.xsd` include resolved in the package's folder wherever the file lies."""
    return etree.XMLSchema(etree.parse(str(path), _PARSER, base_url=str(SCHEMA_DIR / path.name)))


def compile_type(files: SchemaFiles) -> None:
    """ValueError unless both schemas of a type compile (the XSD with the common envelope)."""
    try:
        etree.XMLSchema(etree.fromstring(files.xsd.encode(), _PARSER, base_url=str(SCHEMA_DIR / "new.xsd")))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise ValueError(f"XSD: {exc}") from None
    try:
        jsonschema.Draft202012Validator.check_schema(files.json_schema)
    except jsonschema.exceptions.SchemaError as exc:
        raise ValueError(f"JSON Schema: {exc.message}") from None


class Schemas:
    """Compiled schemas: the common envelope and one per document type (from the package, or from
    `extra_dir` for the types added at run time)."""

    def __init__(self, document_types: Iterable[str], extra_dir: Path | None = None) -> None:
        files = _files(extra_dir)
        self.types = tuple(document_types)
        self._xml_request = _xsd_at(files["request.xsd"])
        self._xml_response = _xsd_at(files["response.xsd"])
        self._xml_by_type = {t: _xsd_at(files[f"{t}.xsd"]) for t in self.types}
        documents = {n: json.loads(p.read_text("utf-8")) for n, p in files.items() if n.endswith(".schema.json")}
        registry: Registry[Any] = Registry().with_resources(
            (name, Resource.from_contents(doc)) for name, doc in documents.items()
        )
        self._json_docs = documents
        self._json_request = self._json_validator(documents["request.schema.json"], registry)
        self._json_by_type = {t: self._json_validator(documents[f"{t}.schema.json"], registry) for t in self.types}
        self._json_data = {
            t: self._json_validator(documents[f"{t}.schema.json"]["$defs"]["data"], registry) for t in self.types
        }
        self._json_response = self._json_validator(documents["response.schema.json"], registry)

    @staticmethod
    def _json_validator(schema: Mapping[str, Any], registry: Registry[Any]) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )

    # ------------------------------------------------------------------ requests
    def check_xml_request(self, root: etree._Element, document_type: str | None) -> None:
        # A type's schema includes the common envelope, so one pass suffices.
        _assert_xml(self._xml_by_type.get(document_type or "", self._xml_request), root)

    def check_json_request(self, payload: Mapping[str, Any], document_type: str | None) -> None:
        _assert_json(self._json_by_type.get(document_type or "", self._json_request), payload)

    # ------------------------------------------------------------------ responses (tests, verify)
    def check_xml_response(self, root: etree._Element, document_type: str | None) -> None:
        _assert_xml(self._xml_response, root)
        data = root.find("{urn:dz:exchange:v1}Attestation/{urn:dz:exchange:v1}Data")
        if data is not None and document_type in self._xml_by_type:
            _assert_xml(self._xml_by_type[document_type], data)

    def check_json_data(self, document_type: str, data: Mapping[str, Any]) -> None:
        """A provider's data for `document_type` against the type's schema (its JSON form)."""
        if document_type in self._json_data:
            _assert_json(self._json_data[document_type], data)

    def check_json_response(self, payload: Mapping[str, Any]) -> None:
        _assert_json(self._json_response, payload)
        attestation = payload.get("attestation")
        if isinstance(attestation, dict) and attestation.get("documentType") in self._json_data:
            _assert_json(self._json_data[attestation["documentType"]], attestation.get("data", {}))


def _assert_xml(schema: etree.XMLSchema, element: etree._Element) -> None:
    if not schema.validate(element):
        error = schema.error_log.last_error
        where = error.path if error is not None else ""
        raise SchemaInvalid(f"{where}: {error.message if error is not None else 'invalid'}")


def _assert_json(validator: jsonschema.Draft202012Validator, payload: Mapping[str, Any]) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
    if error is not None:
        where = "/" + "/".join(str(p) for p in error.absolute_path)
        raise SchemaInvalid(f"{where}: {error.message}")
