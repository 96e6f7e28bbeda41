"""One running gateway worker: state under the home folder, the broker connection, the
store, the adapters, the pipeline and the bus intake, started and stopped in order, and its
background tasks (CRL reloads, gauges, forgetting old responses)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import time
from pathlib import Path

import aio_pika
import aio_pika.abc
import structlog
from aiohttp import web
from cryptography import x509

from gateway import adapters as adapter_registry
from gateway.adapters.base import Adapter, AdapterContext
from gateway.audit import checkpoints
from gateway.audit.checkpoints import Checkpoint
from gateway.channels import own_channel
from gateway.config import Config, ConfigError
from gateway.insights.service import MisuseService
from gateway.insights.sla import (
    LOOK_BACK,
    Outlook,
    QueueSamples,
    answered_per_second,
    provider_outlooks,
    queue_outlook,
)
from gateway.metrics import Metrics
from gateway.pipeline.attest import Attester
from gateway.pipeline.flow import Pipeline, worker_id
from gateway.registry import catalogue as registry_catalogue
from gateway.registry import policy as registry_policy
from gateway.registry.participants import Registry
from gateway.runtime.local_secrets import log_key
from gateway.schemas import Schemas
from gateway.signing.jws import JWSSigner
from gateway.signing.pki import ensure_development_pki, load_identity
from gateway.signing.seal import Sealer
from gateway.signing.trust import TrustStore
from gateway.store import open_store
from gateway.transports import brokers
from gateway.transports.amqp import BusIntake
from gateway.transports.probe import WriteProbe

log = structlog.get_logger(__name__)


class Gateway:
    """One gateway worker: AMQP intake, HTTP intake (through `web`), one pipeline."""

    def __init__(self, config: Config, home: Path) -> None:
        self.seed = config  # the configuration files; registrations and grants made at run time overlay it
        self.home = home
        self.pki = home / "pki"
        ensure_development_pki(self.pki, config.participants)
        self._registry_seen = registry_policy.fingerprint(home)
        config = registry_policy.effective(config, home)
        self.config = config
        self.trust = TrustStore.from_pem_file(self.pki / "ca.pem", self.pki / "crl")
        self.trust.retire(Registry(self.pki).retired_serials())
        s = config.settings
        key, chain = load_identity(
            self.pki / s.participant,
            Path(s.seal_key) if s.seal_key else None,
            Path(s.seal_cert) if s.seal_cert else None,
        )
        self.sealer = Sealer(key, chain)
        self.previous_seals = self.pki / s.participant / "previous"  # certificates of earlier seal keys, PEM
        self.jws_signer = JWSSigner(key, chain)
        self.metrics = Metrics(config.catalogue)
        self.schema_dir = registry_catalogue.schema_dir(home)  # the schemas of types added at run time
        self.schemas = Schemas(config.catalogue, self.schema_dir)
        self.store = open_store(config, home)
        self.log_key = log_key(home)
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None
        self.adapters: dict[str, Adapter] = {}
        self.worker = worker_id()
        self.pipeline: Pipeline | None = None
        self.intake: BusIntake | None = None
        self.probe: WriteProbe | None = None
        self._probing: asyncio.Task[None] | None = None
        self._background: list[asyncio.Task[None]] = []
        self._checkpointed: tuple[int, str] | None = None
        self.insights: MisuseService | None = None
        self.queue_samples = QueueSamples()
        self.outlooks: list[Outlook] = []  # the SLA breaches foreseen at the last look

    async def start(self) -> None:
        s = self.config.settings
        await self.store.open()
        self.connection = await brokers.connect(s.amqp_url, reconnect_interval=1)
        context = AdapterContext(
            self.connection, self.jws_signer, self.trust, s.participant, self.pki, self.worker, s.queue_arguments
        )
        for code, provider in self.config.providers.items():
            adapter = adapter_registry.create(provider, context)
            await adapter.start()
            self.adapters[code] = adapter
        self.pipeline = Pipeline(
            self.config,
            self.trust,
            self.store,
            self.adapters,
            Attester(self.sealer, s.public_url),
            self.metrics,
            self.log_key,
            schemas=self.schemas,
            owner=self.worker,
        )
        self.intake = BusIntake(
            self.connection,
            self.pipeline,
            self.store,
            self.metrics,
            request_queue=s.request_queue,
            dead_queue=s.dead_queue,
            prefetch=s.prefetch,
            max_deliveries=s.max_deliveries,
            bulk_queue=s.bulk_queue,
            bulk_prefetch=s.bulk_prefetch,
            max_concurrency=s.max_concurrency,
            queue_arguments=s.queue_arguments,
        )
        await self.intake.start()
        self.probe = WriteProbe(self.connection, f"{s.request_queue}.probe", s.queue_arguments)
        self._probing = asyncio.create_task(self.probe.run())  # stopped apart: never cut mid-exchange
        self._background.append(asyncio.create_task(self._reload_crls()))
        self._background.append(asyncio.create_task(self._reload_registry()))
        self._background.append(asyncio.create_task(self._watch()))
        self._background.append(asyncio.create_task(self._forget_old()))
        if s.checkpoint_seconds > 0:
            self._background.append(asyncio.create_task(self._checkpoints(s.checkpoint_seconds)))
        if s.insights_seconds > 0:
            self.insights = MisuseService(self.store, self.metrics, self.worker, s.insights_seconds)
            self._background.append(asyncio.create_task(self.insights.run()))
            self._background.append(asyncio.create_task(self._foresee(s.insights_seconds)))
        # Everything loaded so far (modules, schemas, keys, certificates) lives as long as the
        # worker: out of the collector's sight, a full collection no longer walks it.
        gc.collect()
        gc.freeze()
        # A request allocates thousands of short-lived objects: collecting the youngest
        # generation every 10,000 allocations instead of 700 (perf put the collector at about
        # 1 % of a loaded worker) keeps the same bound on cycles at a fraction of the passes.
        gc.set_threshold(10_000, 10, 10)
        log.info("gateway_started", home=str(self.home), providers=sorted(self.adapters))

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        if self.intake is not None:
            await self.intake.stop(self.config.settings.shutdown_grace_seconds)
        for adapter in self.adapters.values():
            with contextlib.suppress(Exception):
                await adapter.close()
        if self.probe is not None:
            await self.probe.stop(self._probing)
        if self.connection is not None:
            await self.connection.close()
        if self.config.settings.checkpoint_seconds > 0 and self.pipeline is not None:
            await self.checkpoint()  # the journal as this worker leaves it (none when it never started)
        await self.store.close()
        log.info("gateway_stopped")

    async def checkpoint(self) -> Checkpoint | None:
        """Seals the journal's head, when it moved since this worker's last checkpoint, into today's
        checkpoint file. A failure is logged loudly and never stops the worker."""
        try:
            head = await self.store.audit_head()
            if head is None or head == self._checkpointed:
                return None
            checkpoint = Checkpoint(self.config.settings.participant, head[0], head[1], dt.datetime.now(dt.UTC))
            await asyncio.to_thread(
                checkpoints.append, self.home, checkpoint.at, self.sealer.seal_json(checkpoint.payload())
            )
            self._checkpointed = head
            log.info("journal_checkpointed", entries=head[0], head=head[1])
            return checkpoint
        except Exception:
            log.exception("journal_checkpoint_failed")
            return None

    async def _checkpoints(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.checkpoint()

    async def readiness(self) -> dict[str, bool]:
        """What /readyz reports: each part that must be usable."""
        try:
            store_ok = await asyncio.wait_for(self.store.ping(), 2)
        except Exception:
            store_ok = False
        checks = {
            "broker": self.intake is not None and self.intake.ready,
            "broker_writes": self.probe is not None and self.probe.writable,
            "store": store_ok,
            "seal_key": self.sealer is not None,
        }
        self.metrics.ready.set(1 if all(checks.values()) else 0)
        self.metrics.broker_writes.set(1 if checks["broker_writes"] else 0)
        return checks

    def seal_certificates(self) -> list[x509.Certificate]:
        """The certificate the gateway seals with, then those of its earlier seal keys (`HOME/pki/<gateway>/
        previous/*.pem`), read at each call: the visible seals printed before a key was renewed still check."""
        earlier = sorted(self.previous_seals.glob("*.pem")) if self.previous_seals.is_dir() else []
        return [
            self.sealer.certificate,
            *(c for path in earlier for c in x509.load_pem_x509_certificates(path.read_bytes())),
        ]

    async def queue_depths(self) -> list[tuple[str, int | None, int | None]]:
        """(queue, messages, consumers) for the queues this gateway uses; None when a queue is absent."""
        s = self.config.settings
        names = [
            s.request_queue,
            s.bulk_queue,
            s.dead_queue,
            *(str(p.options["queue"]) for p in self.config.providers.values() if "queue" in p.options),
        ]
        out: list[tuple[str, int | None, int | None]] = []
        if self.connection is None:
            return [(name, None, None) for name in names]
        for name in names:
            async with own_channel(self.connection) as channel:
                try:
                    declared = await channel.declare_queue(name, passive=True)
                    out.append(
                        (name, declared.declaration_result.message_count, declared.declaration_result.consumer_count)
                    )
                except aio_pika.exceptions.ChannelClosed:
                    out.append((name, None, None))
        return out

    async def _watch(self) -> None:
        """Keeps the gauges of breakers and queues current for /metrics (every 5 s)."""
        while True:
            try:
                if self.pipeline is not None:
                    for provider, state in self.pipeline.router.breaker_states().items():
                        self.metrics.breaker_open.labels(provider).set(1 if state == "open" else 0)
                for name, messages, consumers in await self.queue_depths():
                    if messages is not None:
                        self.metrics.queue_messages.labels(name).set(messages)
                        self.metrics.queue_consumers.labels(name).set(consumers or 0)
                        self.queue_samples.add(name, time.monotonic(), messages)
                await self.readiness()
            except Exception:
                log.exception("watch_failed")
            await asyncio.sleep(5)

    async def look_ahead(self) -> list[Outlook]:
        """The SLA breaches foreseen now (`gateway.insights.sla`), also set on /metrics."""
        now = dt.datetime.now(dt.UTC)
        grid = await self.store.kpi_by_minute(now - LOOK_BACK, now + dt.timedelta(minutes=1), "provider")
        types = self.config.catalogue.values()
        shortest = min((t.sla_seconds for t in types), default=5.0)
        requests, bulk = self.config.settings.request_queue, self.config.settings.bulk_queue
        queues: list[tuple[str, str | None, float]] = [(requests, None, shortest), (bulk, None, shortest)]
        # (queue, the provider it feeds or None for all, the shortest deadline concerned)
        for code, provider in self.config.providers.items():
            deadlines = [t.sla_seconds for t in types if t.provider == code]
            if "queue" in provider.options and deadlines:
                queues.append((str(provider.options["queue"]), code, min(deadlines)))
        outlooks = provider_outlooks(grid, now)
        for name, feeds, deadline in queues:
            rate = answered_per_second(grid, now, feeds)
            waiting = self.queue_samples.of(requests)
            ahead = waiting[-1][1] if name == bulk and waiting else 0  # bulk requests are taken after the others
            queue = queue_outlook(name, self.queue_samples.of(name), rate, deadline, time.monotonic(), ahead=ahead)
            outlooks += [queue] if queue else []
        foreseen = {(o.subject, o.kind) for o in outlooks}
        for previous in self.outlooks:
            if (previous.subject, previous.kind) not in foreseen:
                with contextlib.suppress(KeyError):  # removed already by a look of its own
                    self.metrics.sla_breach_eta.remove(previous.subject, previous.kind)
        for outlook in outlooks:
            self.metrics.sla_breach_eta.labels(outlook.subject, outlook.kind).set(outlook.eta_seconds)
            if outlook.eta_seconds == 0 or not any(p.subject == outlook.subject for p in self.outlooks):
                log.warning("sla_breach_foreseen", subject=outlook.subject, eta_seconds=outlook.eta_seconds)
        self.outlooks = outlooks
        return outlooks

    async def _foresee(self, seconds: float) -> None:
        while True:
            try:
                await self.look_ahead()
            except Exception:
                log.exception("sla_outlook_failed")
            await asyncio.sleep(seconds)

    async def _forget_old(self) -> None:
        """Once an hour, forgets remembered responses and deliveries older than `remember_days`
        (docs/protocol.md §5, check 8, promises 7 days); attestations and the journal stay."""
        while True:
            await asyncio.sleep(3600)
            cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=self.config.settings.remember_days)
            try:
                removed = await self.store.purge(cutoff)
                log.info("store_purged", removed=removed, older_than=cutoff.isoformat())
            except Exception:
                log.exception("store_purge_failed")

    async def _reload_registry(self) -> None:
        """Applies the participants registered and the grants made since the last look, every
        `registry_reload_seconds`, without a restart. A change that does not hold leaves the
        worker as it was, and says so in the log."""
        while True:
            await asyncio.sleep(self.config.settings.registry_reload_seconds)
            try:  # time alone retires a renewed certificate: looked at on every turn
                retired = await asyncio.to_thread(Registry(self.pki).retired_serials)
                if self.trust.retire(retired):
                    log.info("certificates_retired", count=len(retired))
            except (ValueError, KeyError, OSError) as exc:
                log.error("registry_unreadable", error=str(exc))
            seen = await asyncio.to_thread(registry_policy.fingerprint, self.home)
            if seen == self._registry_seen:
                continue
            self._registry_seen = seen
            try:
                config = await asyncio.to_thread(registry_policy.effective, self.seed, self.home)
            except (ConfigError, ValueError, KeyError, OSError) as exc:
                log.error("registry_change_refused", error=str(exc))
                continue
            try:
                await self.use(config)
            except Exception:
                log.exception("registry_change_failed")
                continue
            log.info("registry_applied", participants=len(config.participants), requesters=len(config.requesters))

    async def use(self, config: Config) -> None:
        """Serves `config` from now on: its participants, access policy, document types (with their
        schemas) and providers. A provider new to this worker gets its adapter started first."""
        if config.catalogue != self.config.catalogue:
            self.schemas = await asyncio.to_thread(Schemas, config.catalogue, self.schema_dir)
            self.metrics.know(config.catalogue)
        if self.pipeline is not None and self.connection is not None:
            s = config.settings
            context = AdapterContext(
                self.connection, self.jws_signer, self.trust, s.participant, self.pki, self.worker, s.queue_arguments
            )
            for code, provider in config.providers.items():
                if code not in self.adapters:
                    adapter = adapter_registry.create(provider, context)
                    await adapter.start()
                    self.adapters[code] = adapter
                    self.pipeline.router.add(code, adapter, provider)
                    log.info("provider_added", provider=code)
        self.config = config
        if self.pipeline is not None:
            self.pipeline.use(config, self.schemas)

    async def _reload_crls(self) -> None:
        while True:
            await asyncio.sleep(self.config.settings.crl_reload_seconds)
            try:
                await asyncio.to_thread(self.trust.reload_crls)
            except Exception:
                log.exception("crl_reload_failed")


#: Where the web application keeps the worker it serves (the HTTP transport, the public
#: endpoints, the citizen report and the dashboard all read it from there).
GATEWAY_KEY = web.AppKey("gateway", Gateway)


def gateway_of(request: web.Request) -> Gateway:
    """The worker behind a web request."""
    return request.app[GATEWAY_KEY]
