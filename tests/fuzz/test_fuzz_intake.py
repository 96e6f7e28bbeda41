"""Property-based fuzzing of intake (hypothesis): mutated XML and JWS requests never crash the
pipeline and always get a sealed refusal or failure, never an unhandled exception."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from gateway import config as config_module
from gateway.metrics import Metrics
from gateway.pipeline.attest import Attester
from gateway.pipeline.flow import Pipeline
from gateway.protocol import Transport
from gateway.signing import pki
from gateway.signing.seal import Sealer, verify_seal
from gateway.signing.trust import TrustStore
from gateway.store.sqlite import SQLiteStore
from tests.e2e.exchange import signed_jws, signed_xml

CA = pki.make_ca()
CNAS = pki.issue(CA, "dz.cnas")
GATEWAY = pki.issue(CA, "dz.exchange.gateway")
TRUST = TrustStore([CA.cert])
_, XML = signed_xml(CNAS, subject={"nin": "109870123456789012"})
_, JWS = signed_jws(CNAS, subject={"nin": "109870123456789012"})


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[asyncio.AbstractEventLoop, Pipeline]]:
    """A pipeline with a real store and seal and no provider, on a loop of its own."""
    loop = asyncio.new_event_loop()
    config = config_module.load()
    store = SQLiteStore(tmp_path_factory.mktemp("fuzz") / "store.sqlite3")
    loop.run_until_complete(store.open())
    pipeline = Pipeline(
        config,
        TRUST,
        store,
        {},
        Attester(Sealer(GATEWAY.key, [GATEWAY.cert]), "http://x"),
        Metrics(config.catalogue),
        b"k" * 32,
    )
    yield loop, pipeline
    loop.run_until_complete(store.close())
    loop.close()


def answered(run: tuple[asyncio.AbstractEventLoop, Pipeline], body: bytes, content_type: str) -> str:
    loop, pipeline = run
    outcome = loop.run_until_complete(pipeline.handle(body, content_type, transport=Transport.HTTP))
    assert outcome.status in ("refused", "failed")
    assert verify_seal(outcome.body, TRUST).signer.participant == "dz.exchange.gateway"
    if outcome.kind == "xml":
        problem = etree.fromstring(outcome.body).find("{urn:dz:exchange:v1}Problem")
        assert problem is not None and problem.get("code") == outcome.problem
    return outcome.problem or ""


edits = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=len(XML) - 1), st.binary(max_size=8), st.integers(min_value=0, max_value=4)
    ),
    min_size=1,
    max_size=6,
)
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def mutate(body: bytes, changes: list[tuple[int, bytes, int]]) -> bytes:
    for at, insert, cut in changes:
        at %= max(len(body), 1)
        body = body[:at] + insert + body[at + cut :]
    return body


@SETTINGS
@given(changes=edits)
def test_mutated_xml_gets_a_sealed_refusal(run, changes) -> None:  # type: ignore[no-untyped-def]
    """Bytes inserted, deleted or replaced anywhere in a signed XML request: a sealed refusal, whatever."""
    body = mutate(XML, changes)
    if body != XML:
        answered(run, body, "application/xml")


@SETTINGS
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "typ", "x5c", "crit", "kid", "jku", "b64"]),
        st.one_of(
            st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.lists(st.text(max_size=10), max_size=3)
        ),
    ),
    payload=st.dictionaries(
        st.text(max_size=12), st.one_of(st.text(max_size=30), st.integers(), st.none()), max_size=6
    ),
)
def test_forged_jws_headers_and_payloads_get_a_sealed_refusal(run, header, payload) -> None:  # type: ignore[no-untyped-def]
    """A JWS with arbitrary header fields over an arbitrary payload, keeping the real signature: refused."""
    h64, p64, s64 = JWS.split(b".")
    real = json.loads(base64.urlsafe_b64decode(h64 + b"=" * (-len(h64) % 4)))
    forged_header = base64.urlsafe_b64encode(json.dumps({**real, **header}).encode()).rstrip(b"=")
    forged_payload = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    for token in (forged_header + b"." + p64 + b"." + s64, h64 + b"." + forged_payload + b"." + s64):
        if token != JWS:
            assert answered(run, token, "application/jose") in {
                "malformed",
                "signature_invalid",
                "certificate_untrusted",
                "schema_invalid",
            }


@SETTINGS
@given(
    body=st.binary(max_size=600),
    content_type=st.sampled_from(
        ["application/xml", "application/jose", "text/plain", "application/xml; charset=latin-1", ""]
    ),
)
def test_random_bytes_get_a_sealed_refusal(run, body, content_type) -> None:  # type: ignore[no-untyped-def]
    """Arbitrary bytes under any content type are refused with a sealed answer."""
    answered(run, body, content_type)
