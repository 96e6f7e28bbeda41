"""Configuration: TOML files in `config/`, validated at start into frozen objects.

The files are read once, checked for consistency (every type's provider exists, every
purpose releases only fields the type has, every policy names known types and purposes),
and handed explicitly to the stages that need them. URLs and ports can be overridden
from the environment (AMQP_URL, GATEWAY_HTTP_PORT, GATEWAY_HTTP_HOST, GATEWAY_PUBLIC_URL,
GATEWAY_STORE, GATEWAY_STORE_DSN).
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from yarl import URL

SUBJECT_KINDS = ("NIN", "NIF", "RC")
CONFIG_FILES = ("gateway.toml", "participants.toml", "catalogue.toml", "policy.toml", "providers.toml")


def default_workers() -> int:
    """Gateway worker processes per host when none is asked for: one per CPU this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform
        return max(1, os.cpu_count() or 1)


class ConfigError(ValueError):
    """The configuration is inconsistent; the message names the file and the key."""


@dataclass(frozen=True)
class Settings:
    participant: str
    freshness_seconds: int
    max_body_bytes: int
    crl_reload_seconds: int
    registry_reload_seconds: int
    remember_days: int
    checkpoint_seconds: float
    prefetch: int
    max_concurrency: int
    shutdown_grace_seconds: float
    max_deliveries: int
    public_url: str
    amqp_url: str
    request_queue: str
    dead_queue: str
    bulk_queue: str
    bulk_prefetch: int
    queue_type: str
    http_host: str
    http_port: int
    header_timeout_seconds: float
    body_timeout_seconds: float
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    store_backend: str
    store_path: str
    store_dsn: str
    seal_key: str = ""
    seal_cert: str = ""
    insights_seconds: float = 30.0  # how often the journal is read for misuse alerts (0: never)

    @property
    def queue_arguments(self) -> dict[str, Any] | None:
        """The arguments that make a queue the gateway declares of `queue_type` (None: classic)."""
        return {"x-queue-type": self.queue_type} if self.queue_type != "classic" else None


@dataclass(frozen=True)
class DocumentType:
    name: str
    provider: str
    subject: str
    sla_seconds: float
    validity_days: int
    fields: tuple[str, ...]
    purposes: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Quota:
    per_second: float
    burst: int


@dataclass(frozen=True)
class Requester:
    code: str
    document_types: frozenset[str]
    purposes: frozenset[str]
    quota: Quota


@dataclass(frozen=True)
class Provider:
    code: str
    adapter: str
    options: Mapping[str, Any]

    def https_url(self) -> str:
        """The provider's `url` option, which must be an https URL with a host (mutual TLS)."""
        url = str(self.options.get("url", ""))
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            raise ConfigError(f"providers: {self.code}.url must be an https URL (mutual TLS), not {url!r}")
        return url


@dataclass(frozen=True)
class Participant:
    code: str
    name: str
    roles: tuple[str, ...]
    name_ar: str = ""  # as printed on attestations; the French name when empty


@dataclass(frozen=True)
class Config:
    settings: Settings
    participants: Mapping[str, Participant]
    catalogue: Mapping[str, DocumentType]
    requesters: Mapping[str, Requester]
    providers: Mapping[str, Provider]
    source: str = field(default="", compare=False)

    def with_settings(self, **changes: Any) -> Config:
        """A copy with some settings changed (tests, CLI flags)."""
        return replace(self, settings=replace(self.settings, **changes))


def default_config_dir() -> Path:
    """`$GATEWAY_CONFIG`; else `./config` when run from a checkout; else the copy shipped inside
    the package, or, for an editable install run from another folder, the checkout's."""
    env = os.environ.get("GATEWAY_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / "config"
    if (local / "catalogue.toml").is_file():
        return local
    shipped = Path(str(resources.files("gateway") / "config"))
    checkout = Path(__file__).resolve().parent.parent / "config"
    if not (shipped / "catalogue.toml").is_file() and (checkout / "catalogue.toml").is_file():
        return checkout
    return shipped


def _read(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load(folder: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Reads and checks the five configuration files of `folder`."""
    folder = folder or default_config_dir()
    env = os.environ if env is None else env
    raw = {name: _read(folder, name) for name in CONFIG_FILES}
    try:
        settings = _settings(raw["gateway.toml"], env)
        participants = {
            code: Participant(code, str(p.get("name", code)), tuple(p.get("roles", ())), str(p.get("name_ar", "")))
            for code, p in raw["participants.toml"].get("participants", {}).items()
        }
        catalogue = {name: document_type(name, t) for name, t in raw["catalogue.toml"].get("types", {}).items()}
        requesters = {code: _requester(code, r) for code, r in raw["policy.toml"].get("requesters", {}).items()}
        providers = {
            code: Provider(code, str(p["adapter"]), MappingProxyType({k: v for k, v in p.items() if k != "adapter"}))
            for code, p in raw["providers.toml"].get("providers", {}).items()
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{folder}: {exc!r}") from None
    config = Config(
        settings,
        MappingProxyType(participants),
        MappingProxyType(catalogue),
        MappingProxyType(requesters),
        MappingProxyType(providers),
        str(folder),
    )
    check(config)
    return config


def _settings(raw: dict[str, Any], env: Mapping[str, str]) -> Settings:
    g, amqp, http, store, keys = raw["gateway"], raw["amqp"], raw["http"], raw["store"], raw.get("keys", {})
    return Settings(
        participant=str(g["participant"]),
        freshness_seconds=int(g["freshness_seconds"]),
        max_body_bytes=int(g["max_body_bytes"]),
        crl_reload_seconds=int(g["crl_reload_seconds"]),
        registry_reload_seconds=int(g.get("registry_reload_seconds", 10)),
        remember_days=int(g["remember_days"]),
        checkpoint_seconds=float(env.get("GATEWAY_CHECKPOINT_SECONDS", g.get("checkpoint_seconds", 60))),
        prefetch=int(g["prefetch"]),
        max_concurrency=int(g.get("max_concurrency", 100)),
        shutdown_grace_seconds=float(g.get("shutdown_grace_seconds", 20)),
        max_deliveries=int(amqp.get("max_deliveries", 5)),
        public_url=env.get("GATEWAY_PUBLIC_URL", str(g["public_url"])).rstrip("/"),
        amqp_url=env.get("AMQP_URL", str(amqp["url"])),
        request_queue=str(amqp["request_queue"]),
        dead_queue=str(amqp["dead_queue"]),
        bulk_queue=str(amqp.get("bulk_queue", "gateway.lane.bulk")),
        bulk_prefetch=int(amqp.get("bulk_prefetch", 16)),
        queue_type=env.get("GATEWAY_QUEUE_TYPE", str(amqp.get("queue_type", "classic"))),
        http_host=env.get("GATEWAY_HTTP_HOST", str(http["host"])),
        http_port=int(env.get("GATEWAY_HTTP_PORT", http["port"])),
        header_timeout_seconds=float(http.get("header_timeout_seconds", 10)),
        body_timeout_seconds=float(http.get("body_timeout_seconds", 30)),
        trusted_proxies=_networks(env.get("GATEWAY_TRUSTED_PROXIES", http.get("trusted_proxies", []))),
        store_backend=env.get("GATEWAY_STORE", str(store["backend"])),
        store_path=str(store["path"]),
        store_dsn=env.get("GATEWAY_STORE_DSN", str(store.get("dsn", ""))),
        seal_key=env.get("GATEWAY_SEAL_KEY", str(keys.get("seal_key", ""))),
        seal_cert=env.get("GATEWAY_SEAL_CERT", str(keys.get("seal_cert", ""))),
        insights_seconds=float(env.get("GATEWAY_INSIGHTS_SECONDS", g.get("insights_seconds", 30))),
    )


def _networks(value: str | list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The trusted proxies: addresses or networks, as a list or one comma-separated string."""
    items = value.split(",") if isinstance(value, str) else value
    try:
        return tuple(ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip())
    except ValueError as exc:
        raise ConfigError(f"gateway.toml: [http] trusted_proxies: {exc}") from None


def document_type(name: str, raw: Mapping[str, Any]) -> DocumentType:
    """A catalogue entry, as `catalogue.toml` (or a type file of `gateway catalogue add`) writes it."""
    purposes = {p: tuple(str(f) for f in fields) for p, fields in raw.get("purposes", {}).items()}
    return DocumentType(
        name=name,
        provider=str(raw["provider"]),
        subject=str(raw["subject"]),
        sla_seconds=float(raw["sla_seconds"]),
        validity_days=int(raw["validity_days"]),
        fields=tuple(str(f) for f in raw["fields"]),
        purposes=MappingProxyType(purposes),
    )


def _requester(code: str, raw: dict[str, Any]) -> Requester:
    quota = raw.get("quota", {})
    return Requester(
        code=code,
        document_types=frozenset(raw.get("document_types", ())),
        purposes=frozenset(raw.get("purposes", ())),
        quota=Quota(float(quota.get("per_second", 100)), int(quota.get("burst", 200))),
    )


def broker_list(amqp_url: str) -> list[str]:
    """The brokers of `amqp_url`: one AMQP URL, or several (a cluster's nodes) separated by commas."""
    return [item.strip() for item in amqp_url.split(",") if item.strip()]


def _check_brokers(amqp_url: str) -> None:
    brokers = broker_list(amqp_url)
    if not brokers:
        raise ConfigError("AMQP_URL (or [amqp] url): no broker URL given")
    for index, item in enumerate(brokers, 1):
        try:
            url = URL(item)
        except ValueError:
            url = URL()
        if url.scheme not in ("amqp", "amqps") or not url.host or item.count("://") > 1:
            raise ConfigError(
                f"AMQP_URL (or [amqp] url): broker {index} of {len(brokers)} is not an amqp:// or amqps:// URL "
                "with a host; several brokers are separated by commas"
            )


def check(config: Config) -> None:
    """Raises ConfigError on the first inconsistency found."""
    s = config.settings
    if s.participant not in config.participants:
        raise ConfigError(f"gateway.toml: participant {s.participant!r} is not in participants.toml")
    if not 1 <= s.registry_reload_seconds <= 60:
        raise ConfigError(f"gateway.toml: registry_reload_seconds {s.registry_reload_seconds} is not 1 to 60")
    if s.queue_type not in ("classic", "quorum"):
        raise ConfigError(f"gateway.toml: queue_type {s.queue_type!r} is not classic or quorum")
    _check_brokers(s.amqp_url)
    if s.store_backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"gateway.toml: store backend {s.store_backend!r} is not supported")
    for t in config.catalogue.values():
        if t.subject not in SUBJECT_KINDS:
            raise ConfigError(f"catalogue.toml: {t.name}: subject {t.subject!r} is not one of {SUBJECT_KINDS}")
        if t.provider not in config.participants:
            raise ConfigError(f"catalogue.toml: {t.name}: provider {t.provider!r} is not a participant")
        for purpose, fields in t.purposes.items():
            unknown = set(fields) - set(t.fields)
            if unknown:
                raise ConfigError(f"catalogue.toml: {t.name}.purposes.{purpose}: unknown fields {sorted(unknown)}")
    all_purposes = {p for t in config.catalogue.values() for p in t.purposes}
    for r in config.requesters.values():
        if r.code not in config.participants:
            raise ConfigError(f"policy.toml: requester {r.code!r} is not a participant")
        if unknown := set(r.document_types - set(config.catalogue)):
            raise ConfigError(f"policy.toml: {r.code}: unknown document types {sorted(unknown)}")
        if unknown := set(r.purposes - all_purposes):
            raise ConfigError(f"policy.toml: {r.code}: unknown purposes {sorted(unknown)}")
    for p in config.providers.values():
        if p.code not in config.participants:
            raise ConfigError(f"providers.toml: provider {p.code!r} is not a participant")
