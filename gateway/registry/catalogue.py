"""Document types added at run time, with the schemas made for them (docs/onboarding.md).

A type is described in a TOML file in the catalogue's own format (`[types.<name>]`, with
`provider`, `subject`, `sla_seconds`, `validity_days`, `fields` and the fields each purpose
releases), plus the kind of each field (`field_kinds`: text by default, or date, decimal,
integer, boolean) and, for a provider not yet configured, its `[providers."<code>"]` block.
Its XSD and JSON Schema are made from those fields, compiled before anything is stored, and
kept with the type in `HOME/registry/schemas/`; the type itself in
`HOME/registry/catalogue.json`. Every worker serves it within `registry_reload_seconds`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gateway.config import Config, ConfigError, DocumentType, Provider, check, document_type
from gateway.protocol import SUBJECT_KEYS
from gateway.registry.enrolment import EnrolmentError
from gateway.schemas import SchemaFiles, compile_type

CATALOGUE = "catalogue.json"
NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
FIELD = re.compile(r"[a-z][A-Za-z0-9]{0,62}")
#: A field's kind: its XSD type and its JSON Schema.
KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "text": ("x:Text", {"type": "string", "minLength": 1, "maxLength": 200}),
    "date": ("xs:date", {"type": "string", "format": "date", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"}),
    "decimal": ("xs:decimal", {"type": "string", "pattern": "^-?\\d+(\\.\\d+)?$"}),
    "integer": ("xs:integer", {"type": "integer"}),
    "boolean": ("xs:boolean", {"type": "boolean"}),
}
#: The adapters a provider added at run time may use: those that speak the partner protocol, on
#: the bus or over HTTPS, so that such a provider is configuration only.
ADAPTERS = ("bus", "rest")


def folder(home: Path) -> Path:
    return home / "registry"


def schema_dir(home: Path) -> Path:
    return folder(home) / "schemas"


def read_added(home: Path) -> tuple[dict[str, DocumentType], dict[str, Provider]]:
    """The types added at run time, and the providers added with them."""
    path = folder(home) / CATALOGUE
    if not path.exists():
        return {}, {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    types = {name: document_type(name, t) for name, t in raw["types"].items()}
    providers = {code: _provider(code, p) for code, p in raw["providers"].items()}
    return types, providers


def _provider(code: str, raw: Mapping[str, Any]) -> Provider:
    return Provider(code, str(raw["adapter"]), MappingProxyType({k: v for k, v in raw.items() if k != "adapter"}))


def read_type_file(text: str, where: str) -> tuple[DocumentType, dict[str, str], dict[str, Any] | None, dict[str, Any]]:
    """The type a file describes, its fields' kinds, its provider's block (or None) and its raw table."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EnrolmentError(f"{where}: not TOML: {exc}") from None
    types = raw.get("types", {})
    if not isinstance(types, dict) or len(types) != 1:
        raise EnrolmentError(f"{where}: describe exactly one type, as [types.<name>]")
    name, table = next(iter(types.items()))
    if not NAME.fullmatch(name) or len(name) > 60:
        raise EnrolmentError(f"{where}: type name {name!r}: lowercase words joined by hyphens")
    for key in ("provider", "subject", "sla_seconds", "validity_days", "fields", "purposes"):
        if key not in table:
            raise EnrolmentError(f"{where}: types.{name}.{key} is missing")
    if table["subject"] not in SUBJECT_KEYS:
        raise EnrolmentError(f"{where}: types.{name}.subject {table['subject']!r}: one of {', '.join(SUBJECT_KEYS)}")
    fields = table["fields"]
    if not isinstance(fields, list) or not fields:
        raise EnrolmentError(f"{where}: types.{name}.fields: a list of at least one field name")
    for f in fields:
        if not isinstance(f, str) or not FIELD.fullmatch(f):
            raise EnrolmentError(f"{where}: types.{name}.fields: {f!r} is not a field name (camelCase letters, digits)")
    kinds = {str(k): str(v) for k, v in table.get("field_kinds", {}).items()}
    for f, kind in kinds.items():
        if f not in fields:
            raise EnrolmentError(f"{where}: types.{name}.field_kinds.{f}: not one of the fields")
        if kind not in KINDS:
            raise EnrolmentError(f"{where}: types.{name}.field_kinds.{f} = {kind!r}: one of {', '.join(KINDS)}")
    try:
        doc_type = document_type(name, table)
    except (TypeError, ValueError, AttributeError) as exc:
        raise EnrolmentError(f"{where}: types.{name}: {exc}") from None
    if doc_type.sla_seconds <= 0 or doc_type.validity_days <= 0:
        raise EnrolmentError(f"{where}: types.{name}: sla_seconds and validity_days must be positive")
    providers = raw.get("providers", {})
    block = None
    if providers:
        if set(providers) != {doc_type.provider}:
            raise EnrolmentError(f"{where}: [providers] may only describe the type's provider, {doc_type.provider}")
        block = dict(providers[doc_type.provider])
        if block.get("adapter") not in ADAPTERS:
            raise EnrolmentError(f"{where}: providers.{doc_type.provider}.adapter: one of {', '.join(ADAPTERS)}")
        if block["adapter"] == "rest":
            try:
                _provider(doc_type.provider, block).https_url()
            except ConfigError as exc:
                raise EnrolmentError(f"{where}: {exc}") from None
    return doc_type, kinds, block, dict(table)


def schemas_for(doc_type: DocumentType, kinds: Mapping[str, str]) -> SchemaFiles:
    """The type's XSD and JSON Schema, made from its fields, compiled."""
    subject = doc_type.subject
    elements = "\n".join(
        f'      <xs:element name="{f[0].upper()}{f[1:]}" type="{KINDS[kinds.get(f, "text")][0]}" minOccurs="0"/>'
        for f in doc_type.fields
    )
    xsd = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- {doc_type.name}: the request for this type and the content of its Data, made from its declared fields. -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:x="urn:dz:exchange:v1" targetNamespace="urn:dz:exchange:v1"
           elementFormDefault="qualified">
  <xs:include schemaLocation="common.xsd"/>
  <xs:element name="DocumentRequest">
    <xs:complexType><xs:sequence>
      <xs:group ref="x:RequestHeader"/>
      <xs:element name="Subject"><xs:complexType><xs:sequence>
        <xs:element name="{subject}" type="x:{subject}"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="Data">
    <xs:complexType><xs:sequence>
{elements}
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""
    key = SUBJECT_KEYS[subject]
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{doc_type.name}.schema.json",
        "title": f"{doc_type.name}: request (JSON form) and the content of its data, made from its declared fields",
        "allOf": [{"$ref": "request.schema.json"}],
        "properties": {
            "documentType": {"const": doc_type.name},
            "subject": {
                "type": "object",
                "required": [key],
                "properties": {key: {"$ref": f"request.schema.json#/$defs/{key}"}},
                "additionalProperties": False,
            },
        },
        "$defs": {
            "data": {
                "type": "object",
                "properties": {f: KINDS[kinds.get(f, "text")][1] for f in doc_type.fields},
                "additionalProperties": False,
            }
        },
    }
    files = SchemaFiles(doc_type.name, xsd, document)
    try:
        compile_type(files)
    except ValueError as exc:
        raise EnrolmentError(f"the schema made for {doc_type.name} does not compile: {exc}") from None
    return files


@contextmanager
def _changing(home: Path) -> Iterator[dict[str, Any]]:
    folder(home).mkdir(parents=True, exist_ok=True)
    path = folder(home) / CATALOGUE
    with (folder(home) / (CATALOGUE + ".lock")).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        raw = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"types": {}, "providers": {}}
        yield raw
        temporary = path.with_name(CATALOGUE + ".new")
        temporary.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(temporary, path)


def add(config: Config, home: Path, text: str, where: str) -> DocumentType:
    """Checks the type of a file against the configuration as it stands, makes its schemas, and
    stores both; `config` is the effective configuration (registrations and earlier additions included)."""
    doc_type, kinds, block, table = read_type_file(text, where)
    if doc_type.name in config.catalogue:
        raise EnrolmentError(f"{where}: {doc_type.name} is already in the catalogue")
    participant = config.participants.get(doc_type.provider)
    if participant is None or "provider" not in participant.roles:
        raise EnrolmentError(f"{where}: provider {doc_type.provider!r} is not a participant with the role provider")
    if block is None and doc_type.provider not in config.providers:
        raise EnrolmentError(
            f"{where}: {doc_type.provider} is not configured as a provider yet: add its "
            f'[providers."{doc_type.provider}"] block (adapter = "bus", or "rest" with its url)'
        )
    providers = dict(config.providers)
    if block is not None and doc_type.provider not in providers:
        providers[doc_type.provider] = _provider(doc_type.provider, block)
    catalogue = {**config.catalogue, doc_type.name: doc_type}
    try:
        check(_with(config, catalogue, providers))
    except ConfigError as exc:
        raise EnrolmentError(f"{where}: {exc}") from None
    files = schemas_for(doc_type, kinds)
    schema_dir(home).mkdir(parents=True, exist_ok=True)
    with _changing(home) as raw:
        files.write(schema_dir(home))
        raw["types"][doc_type.name] = {k: v for k, v in table.items() if k != "field_kinds"}
        if block is not None and doc_type.provider not in config.providers:
            raw["providers"][doc_type.provider] = block
    return doc_type


def _with(config: Config, catalogue: Mapping[str, DocumentType], providers: Mapping[str, Provider]) -> Config:
    from dataclasses import replace

    return replace(config, catalogue=MappingProxyType(dict(catalogue)), providers=MappingProxyType(dict(providers)))
