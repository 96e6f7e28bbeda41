"""The web application of one worker: the HTTP transport, the public endpoints, the citizen
report, the printable attestation and the operators' dashboard, on one aiohttp application."""

from __future__ import annotations

from aiohttp import web

from gateway.dashboard import routes as dashboard
from gateway.runtime.local_secrets import secret_key
from gateway.runtime.worker import GATEWAY_KEY, Gateway
from gateway.web import citizen, corrections, hardening, printed, public


def make_app(gateway: Gateway) -> web.Application:
    app = web.Application(client_max_size=4 * gateway.config.settings.max_body_bytes)
    app[GATEWAY_KEY] = gateway
    hardening.install(app)
    app.router.add_post("/v1/requests", public.post_request)
    app.router.add_get("/v1/document-types", public.document_types)
    app.router.add_get("/v1/schemas/{name}", public.schema)
    app.router.add_get("/v1/attestations/{attestation_id}", public.attestation)
    app.router.add_post("/v1/attestations/verify", public.verify)
    app.router.add_post("/v1/attestations/pdf", printed.attestation_pdf)
    app.router.add_get("/v1/seal-certificates", public.seal_certificates)
    app.router.add_post("/v1/partners/corrections", corrections.correction)
    app.router.add_get("/healthz", public.healthz)
    app.router.add_get("/readyz", public.readyz)
    app.router.add_get("/metrics", public.metrics)
    app.router.add_get("/v1/audit/checkpoints", public.audit_checkpoints)
    app.router.add_get("/v1/openapi.json", public.openapi)
    app.router.add_get("/v1/asyncapi.json", public.asyncapi)
    app.router.add_post("/v1/citizen/access-report", citizen.access_report)
    dashboard.add_routes(app, gateway, secret_key(gateway.home, "session.key"))
    return app


def make_runner(gateway: Gateway) -> web.AppRunner:
    """The runner that serves `make_app(gateway)`: a connection must send a request's headers within
    `header_timeout_seconds` of opening or of its previous answer, else it is closed."""
    return web.AppRunner(
        make_app(gateway), access_log=None, keepalive_timeout=gateway.config.settings.header_timeout_seconds
    )
