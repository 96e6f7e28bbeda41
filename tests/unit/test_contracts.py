"""The OpenAPI and AsyncAPI documents are built from the code and the running configuration
(docs/protocol.md §9): a problem code, a dead reason, a queue name or a public URL changed there is
changed in the documents too."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from gateway import config as config_module
from gateway.config import Config
from gateway.errors import BY_CODE
from gateway.protocol import DeadReason, Status
from gateway.schemas import schema_names
from gateway.web import asyncapi, openapi


def shipped(**settings: object) -> Config:
    return config_module.load().with_settings(**settings)


def test_openapi_lists_every_problem_code_under_its_http_status() -> None:
    """Every code of errors.py is in `ProblemCode`, and named by the response of POST /v1/requests for its status."""
    document = openapi.document(shipped())
    assert document["components"]["schemas"]["ProblemCode"]["enum"] == list(BY_CODE)
    responses = document["paths"]["/v1/requests"]["post"]["responses"]
    for code, error in BY_CODE.items():
        assert f"`{code}`" in responses[str(error.http_status)]["description"], code
        assert f"| `{code}` | {error.status} | {error.http_status} |" in document["info"]["description"]
    assert set(responses) == {"200", "408"} | {str(e.http_status) for e in BY_CODE.values()}
    assert document["components"]["schemas"]["ResponseStatus"]["enum"] == [s.value for s in Status]


def test_openapi_serves_the_public_url_and_the_served_schemas() -> None:
    """`servers` is the configured public URL; `/v1/schemas/{name}` takes exactly the files the gateway serves."""
    document = openapi.document(shipped(public_url="https://gateway.example.dz"))
    assert document["servers"][0]["url"] == "https://gateway.example.dz"
    (name,) = document["paths"]["/v1/schemas/{name}"]["get"]["parameters"]
    assert name["schema"]["enum"] == schema_names()
    jose = document["paths"]["/v1/requests"]["post"]["requestBody"]["content"]["application/jose"]["schema"]
    assert jose["externalDocs"]["url"] == "https://gateway.example.dz/v1/schemas/request.schema.json"


def test_asyncapi_names_the_configured_queues_and_the_dead_reasons() -> None:
    """Channel addresses are the configured queues, the partner's own included; `x-dead-reason` is DeadReason."""
    config = shipped(request_queue="q.requests", dead_queue="q.dead", bulk_queue="q.bulk")
    civil = config.providers["dz.interieur.etat-civil"]
    providers = dict(config.providers)
    providers[civil.code] = dataclasses.replace(civil, options=MappingProxyType({**civil.options, "queue": "q.p"}))
    document = asyncapi.document(dataclasses.replace(config, providers=MappingProxyType(providers)))
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {"q.requests", "q.dead", "q.bulk", "q.p", "{replyTo}"} <= addresses
    dead = document["components"]["schemas"]["deadHeaders"]
    assert dead["properties"]["x-dead-reason"]["enum"] == [r.value for r in DeadReason]
    assert document["components"]["schemas"]["responseHeaders"]["properties"]["x-problem"]["enum"] == list(BY_CODE)


def test_asyncapi_never_shows_the_brokers_credentials() -> None:
    """The broker's server entry has its host, port and virtual host, and no user name or password."""
    document = asyncapi.document(shipped(amqp_url="amqps://gw:s3cret@broker.example.dz:5671/exchange"))
    broker = document["servers"]["broker"]
    assert (broker["host"], broker["pathname"], broker["protocol"]) == ("broker.example.dz:5671", "exchange", "amqps")
    assert "s3cret" not in str(document) and "gw:" not in str(document)


def test_asyncapi_lists_every_broker_of_a_cluster() -> None:
    """With AMQP_URL naming three nodes, the document has one server per node, none with credentials."""
    nodes = ",".join(f"amqp://gw:s3cret@rabbit-{n}.example.dz:5672/" for n in (1, 2, 3))
    servers = asyncapi.document(shipped(amqp_url=nodes))["servers"]
    assert [s["host"] for s in servers.values()] == [f"rabbit-{n}.example.dz:5672" for n in (1, 2, 3)]
    assert "s3cret" not in str(servers)
