"""A new administration is one adapter module plus configuration: here, configuration alone,
on a transport that already has an adapter (the DGI's JSON REST over mutual TLS)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from types import MappingProxyType

import pytest

from gateway import adapters as adapter_registry
from gateway import config as config_module
from gateway.adapters.base import AdapterContext
from gateway.config import Config, DocumentType, Participant, Provider
from gateway.errors import GatewayError
from gateway.pipeline.route import Router
from gateway_sandbox.tax_directorate import TaxRecords, make_app
from tests.adapters.adapter_kit import DGI, TEST_ADMINISTRATION, admitted, serve, server_tls

NEW_TYPE = "test-tax-clearance"
FIELDS = ("taxpayerName", "situation", "periodFrom", "periodTo")


def _configured(dgi_url: str, test_url: str) -> Config:
    """The shipped configuration plus a fourth provider, its document type and its endpoint."""
    base = config_module.load()
    participants = {
        **base.participants,
        TEST_ADMINISTRATION: Participant(TEST_ADMINISTRATION, "Registre de test", ("provider",)),
    }
    catalogue = {
        **base.catalogue,
        NEW_TYPE: DocumentType(
            NEW_TYPE, TEST_ADMINISTRATION, "NIF", 5.0, 30, FIELDS, MappingProxyType({"contribution-recovery": FIELDS})
        ),
    }
    providers = {
        **base.providers,
        DGI: dataclasses.replace(
            base.providers[DGI], options=MappingProxyType({**base.providers[DGI].options, "url": dgi_url})
        ),
        TEST_ADMINISTRATION: Provider(
            TEST_ADMINISTRATION,
            "tax_directorate",
            MappingProxyType({"url": test_url, "documents": {NEW_TYPE: "situation"}, "breaker_failures": 2}),
        ),
    }
    requesters = {
        code: dataclasses.replace(r, document_types=r.document_types | {NEW_TYPE})
        for code, r in base.requesters.items()
    }
    config = dataclasses.replace(
        base,
        participants=MappingProxyType(participants),
        catalogue=MappingProxyType(catalogue),
        providers=MappingProxyType(providers),
        requesters=MappingProxyType(requesters),
    )
    config_module.check(config)
    return config


@pytest.fixture
async def routed(tax_records: TaxRecords, context: AdapterContext) -> AsyncIterator[tuple[Router, Config]]:
    """A Router over the DGI and the test administration, each a DGI sandbox with its own certificate."""
    async with AsyncExitStack() as stack:
        dgi_port = await stack.enter_async_context(serve(make_app(tax_records), server_tls(context.pki_dir, DGI)))
        test_port = await stack.enter_async_context(
            serve(make_app(tax_records), server_tls(context.pki_dir, TEST_ADMINISTRATION))
        )
        config = _configured(f"https://127.0.0.1:{dgi_port}", f"https://127.0.0.1:{test_port}")
        made = {code: adapter_registry.create(config.providers[code], context) for code in (DGI, TEST_ADMINISTRATION)}
        for adapter in made.values():
            await adapter.start()
            stack.push_async_callback(adapter.close)
        yield Router(made, config.providers), config


async def test_fourth_administration_answers_through_the_router(
    routed: tuple[Router, Config], tax_records: TaxRecords
) -> None:
    """A provider added by configuration only is routed to, answers found and not found, beside the DGI."""
    router, config = routed
    ids = tax_records.examples("tax-status-certificate")
    answer, _ = await router.fetch(admitted(config.catalogue[NEW_TYPE], ids["found"][1]))
    assert answer.provider == TEST_ADMINISTRATION and answer.found
    assert dict(answer.data)["situation"] == "in-arrears" and list(answer.data) == list(FIELDS)
    missing, _ = await router.fetch(admitted(config.catalogue[NEW_TYPE], ids["missing"][0]))
    assert not missing.found
    dgi, _ = await router.fetch(admitted(config.catalogue["tax-status-certificate"], ids["found"][1]))
    assert dgi.provider == DGI and dict(dgi.data) == dict(answer.data)
    assert router.breaker_states() == {DGI: "closed", TEST_ADMINISTRATION: "closed"}
    assert router.adapters[TEST_ADMINISTRATION].policy.breaker_failures == 2


async def test_fourth_administration_must_prove_its_own_identity(
    tax_records: TaxRecords, context: AdapterContext
) -> None:
    """The new provider's server must present its own certificate: the DGI's, at its URL, is provider_error."""
    async with serve(make_app(tax_records), server_tls(context.pki_dir, DGI)) as port:
        config = _configured(f"https://127.0.0.1:{port}", f"https://127.0.0.1:{port}")
        adapter = adapter_registry.create(config.providers[TEST_ADMINISTRATION], context)
        await adapter.start()
        try:
            router = Router({TEST_ADMINISTRATION: adapter}, config.providers)
            nif = tax_records.examples("tax-status-certificate")["found"][0]
            with pytest.raises(GatewayError) as caught:
                await router.fetch(admitted(config.catalogue[NEW_TYPE], nif))
        finally:
            await adapter.close()
    assert caught.value.code == "provider_error"
