"""The AsyncAPI 3.0 document of the gateway on the bus, served at `GET /v1/asyncapi.json`
(docs/protocol.md §3, §9, §10): the request queue and its bulk lane, the reply queue each request
names, the dead-letter queue, and the queues of the partners that answer on the bus.

The operations are the gateway's own: it receives requests and sends responses, dead letters and
partner queries. Queue names come from the running configuration; statuses, problem codes and dead
reasons from protocol.py and errors.py. The broker's address is given without its credentials.
"""

from __future__ import annotations

from typing import Any

from yarl import URL

from gateway.adapters import bus, module_name
from gateway.config import Config, Provider, broker_list
from gateway.protocol import JOSE, XML, DeadReason, Priority
from gateway.transports.dead_letters import DEAD_AT_HEADER, REASON_HEADER, REPLAYED_HEADER
from gateway.web import contracts
from gateway.web.contracts import Schema

AMQP = {"bindingVersion": "0.3.0"}
PERSISTENT = 2
#: The AMQP property that carries the correlation id (a basic property, not an entry of the headers table).
CORRELATION = {
    "location": "$message.header#/correlation_id",
    "description": "the AMQP property `correlation_id`",
}
BUS_ADAPTER = bus.__name__.rsplit(".", 1)[-1]
ref = dict[str, str]


def _ref(kind: str, name: str) -> ref:
    return {"$ref": f"#/{kind}/{name}"}


def document(config: Config) -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document for `config`."""
    partners = bus_partners(config)
    return {
        "asyncapi": "3.0.0",
        "id": "urn:dz:exchange:v1:gateway:bus",
        "info": _info(config),
        "defaultContentType": XML,
        "servers": _servers(config),
        "channels": _channels(config, partners),
        "operations": _operations(partners),
        "components": {"messages": _messages(config), "schemas": _schemas()},
    }


def bus_partners(config: Config) -> list[Provider]:
    """The providers that answer on the bus (docs/protocol.md §10), in configuration order."""
    return [p for p in config.providers.values() if module_name(p.adapter) == BUS_ADAPTER]


def _info(config: Config) -> dict[str, Any]:
    return {
        "title": f"{contracts.TITLE}: the bus",
        "version": contracts.version(),
        "description": "The exchange protocol, version 1, over RabbitMQ (docs/protocol.md §3 and §10). Requests "
        "and responses are the documents of the HTTP transport; their schemas are served at "
        f"{config.settings.public_url}/v1/schemas/<name>.\n\nProblem codes (`x-problem`):\n\n"
        + contracts.problem_table(),
        "externalDocs": {"url": f"{config.settings.public_url}/v1/openapi.json", "description": "the HTTP API"},
    }


def _servers(config: Config) -> dict[str, Any]:
    """One server per broker of `amqp_url` (the nodes of a cluster), never with credentials."""
    brokers = broker_list(config.settings.amqp_url)
    return {("broker" if len(brokers) == 1 else f"broker{i}"): _server(b) for i, b in enumerate(brokers, 1)}


def _server(broker: str) -> dict[str, Any]:
    url = URL(broker)
    host = f"{url.host or 'localhost'}:{url.port or 5672}"
    vhost = url.path[1:] if len(url.path) > 1 else "/"
    return {
        "host": host,
        "pathname": vhost,
        "protocol": "amqps" if url.scheme == "amqps" else "amqp",
        "protocolVersion": "0-9-1",
        "description": "RabbitMQ; publish through the default exchange, with publisher confirms and `mandatory`",
    }


# ---------------------------------------------------------------------------- channels
def _queue(name: str, *, declared: bool = True) -> dict[str, Any]:
    """A queue on the default exchange; `declared` when the gateway declares it (durable, shared, kept)."""
    queue: dict[str, Any] = {"name": name, "vhost": "/"}
    if declared:
        queue.update(durable=True, exclusive=False, autoDelete=False)
    return {"amqp": {"is": "queue", "queue": queue, **AMQP}}


def _channels(config: Config, partners: list[Provider]) -> dict[str, Any]:
    s = config.settings
    requests = {"requestXml": _ref("components/messages", "requestXml")}
    requests["requestJose"] = _ref("components/messages", "requestJose")
    lanes = ", ".join(f"`{p.value}`" for p in Priority)
    channels: dict[str, Any] = {
        "requests": {
            "address": s.request_queue,
            "title": "the request queue",
            "description": f"Every request, of any priority ({lanes}). Declare your reply queue and consume from "
            "it before you publish.",
            "messages": requests,
            "bindings": _queue(s.request_queue),
        },
        "bulkLane": {
            "address": s.bulk_queue,
            "title": "the bulk lane (internal)",
            "description": f"Requests marked `{Priority.BULK.value}` are moved here from the request queue at once, "
            "unchanged, and worked on after the others. Clients never publish here.",
            "messages": requests,
            "bindings": _queue(s.bulk_queue),
        },
        "reply": {
            "address": "{replyTo}",
            "title": "the requester's reply queue",
            "description": "The queue a request names in its `reply_to` property; the requester declares it.",
            "parameters": {
                "replyTo": {"description": "the request's `reply_to`", "location": "$message.header#/reply_to"}
            },
            "messages": {
                "responseXml": _ref("components/messages", "responseXml"),
                "responseJose": _ref("components/messages", "responseJose"),
            },
            "bindings": _queue("{replyTo}", declared=False),
        },
        "dead": {
            "address": s.dead_queue,
            "title": "the dead-letter queue",
            "description": "Requests that no response could be addressed to, with their body and properties "
            "unchanged (docs/protocol.md §3).",
            "messages": {
                "deadXml": _ref("components/messages", "deadXml"),
                "deadJose": _ref("components/messages", "deadJose"),
            },
            "bindings": _queue(s.dead_queue),
        },
    }
    if partners:
        channels["partnerReplies"] = _partner_replies(partners)
    for partner in partners:
        queue = bus.query_queue(partner)
        channels[_partner_key(partner)] = {
            "address": queue,
            "title": f"queries to {partner.code}",
            "description": f"The gateway's queries to {partner.code}, which answers on the `reply_to` they name.",
            "messages": {"partnerQuery": _ref("components/messages", "partnerQuery")},
            "bindings": _queue(queue),
        }
    return channels


def _partner_key(partner: Provider) -> str:
    return "partnerQueries." + partner.code


def _partner_replies(partners: list[Provider]) -> dict[str, Any]:
    address = bus.reply_queue("{provider}", "{worker}")
    return {
        "address": address,
        "title": "a gateway worker's reply queue for one partner",
        "description": "Durable, not exclusive; the broker deletes it ten minutes after its last use.",
        "parameters": {
            "provider": {"enum": [p.code for p in partners], "description": "the partner's participant code"},
            "worker": {"description": "the gateway worker's name"},
        },
        "messages": {"partnerAnswer": _ref("components/messages", "partnerAnswer")},
        "bindings": _queue(address),
    }


# ---------------------------------------------------------------------------- operations
def _operation(
    action: str, channel: str, messages: list[str], summary: str, reply: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One of the gateway's operations: it sends persistent, mandatory messages and acks what it receives."""
    binding = {"deliveryMode": PERSISTENT, "mandatory": True} if action == "send" else {"ack": True}
    operation: dict[str, Any] = {
        "action": action,
        "channel": _ref("channels", channel),
        "summary": summary,
        "messages": [_ref(f"channels/{channel}/messages", m) for m in messages],
        "bindings": {"amqp": {**binding, **AMQP}},
    }
    if reply is not None:
        operation["reply"] = reply
    return operation


def _response_reply() -> dict[str, Any]:
    return {
        "address": {"location": "$message.header#/reply_to", "description": "the request's `reply_to` property"},
        "channel": _ref("channels", "reply"),
        "messages": [_ref("channels/reply/messages", m) for m in ("responseXml", "responseJose")],
    }


def _operations(partners: list[Provider]) -> dict[str, Any]:
    requests = ["requestXml", "requestJose"]
    operations: dict[str, Any] = {
        "receiveRequest": _operation(
            "receive", "requests", requests, "Take a request; answer it on its reply queue", _response_reply()
        ),
        "moveToBulkLane": _operation("send", "bulkLane", requests, "Move a bulk request to its lane, unchanged"),
        "receiveBulkRequest": _operation(
            "receive", "bulkLane", requests, "Take a bulk request when its turn comes", _response_reply()
        ),
        "sendResponse": _operation("send", "reply", ["responseXml", "responseJose"], "Publish the sealed response"),
        "sendDeadLetter": _operation(
            "send", "dead", ["deadXml", "deadJose"], "Set aside a request no response can reach"
        ),
    }
    if partners:
        operations["receivePartnerAnswer"] = _operation(
            "receive", "partnerReplies", ["partnerAnswer"], "Take a partner's signed answer"
        )
    for partner in partners:
        operations[f"sendQueryTo.{partner.code}"] = _operation(
            "send", _partner_key(partner), ["partnerQuery"], f"Ask {partner.code} for a record", _query_reply()
        )
    return operations


def _query_reply() -> dict[str, Any]:
    return {
        "address": {"location": "$message.header#/reply_to", "description": "the gateway worker's reply queue"},
        "channel": _ref("channels", "partnerReplies"),
        "messages": [_ref("channels/partnerReplies/messages", "partnerAnswer")],
    }


# ---------------------------------------------------------------------------- messages
def _properties(required: list[str], **described: str) -> Schema:
    """The AMQP basic properties a message carries (`x-amqp-properties`: not headers)."""
    return {
        "type": "object",
        "required": required,
        "properties": {name: {"type": "string", "description": text} for name, text in described.items()},
    }


def _message(name: str, kind: str, payload: Schema, headers: Schema | None, properties: Schema, **more: Any) -> Any:
    message: dict[str, Any] = {
        "name": name,
        "contentType": kind,
        "payload": payload,
        "correlationId": CORRELATION,
        "bindings": {"amqp": dict(AMQP)},
        "x-amqp-properties": properties,
        **more,
    }
    if headers is not None:
        message["headers"] = headers
    return message


def _messages(config: Config) -> dict[str, Any]:
    described = {
        "message_id": "the request's `RequestId`",
        "reply_to": "the queue that receives the response",
        "content_type": f"`{XML}` or `{JOSE}`",
        "correlation_id": "echoed on the response; else the response carries `message_id`",
    }
    request_properties = _properties(["message_id", "reply_to", "content_type"], **described)
    dead_properties = _properties([], **described)  # as the request came, maybe without the required ones
    response_properties = _properties(
        ["correlation_id", "message_id", "content_type"],
        correlation_id="the request's, or its `message_id` when it had none",
        message_id="the response's `ResponseId`",
        content_type="the request's",
    )
    replayed = {"$ref": "#/components/schemas/replayedHeaders"}
    dead = {"$ref": "#/components/schemas/deadHeaders"}
    response = {"$ref": "#/components/schemas/responseHeaders"}
    forms = ((XML, "Xml", contracts.sealed_xml), (JOSE, "Jose", contracts.sealed_jose))
    messages: dict[str, Any] = {}
    for kind, suffix, schema in forms:
        messages[f"request{suffix}"] = _message(
            f"request{suffix}", kind, schema(config, "request"), replayed, request_properties,
            title=f"A signed request ({kind})", externalDocs=_type_docs(config),
        )  # fmt: skip
        messages[f"response{suffix}"] = _message(
            f"response{suffix}", kind, schema(config, "response"), response, response_properties,
            title=f"A sealed response ({kind})",
        )  # fmt: skip
        messages[f"dead{suffix}"] = _message(
            f"dead{suffix}", kind, schema(config, "request"), dead, dead_properties,
            title=f"A dead letter ({kind}): the request, unchanged, with why it could not be answered",
        )  # fmt: skip
    messages["partnerQuery"] = _message(
        "partnerQuery", JOSE, contracts.partner_query(), None,
        _properties(
            ["message_id", "correlation_id", "reply_to", "expiration"],
            message_id="the query's id", correlation_id="the query's id",
            reply_to="the gateway worker's reply queue", expiration="the gateway's wait, in milliseconds",
        ),
        title="A query to a partner on the bus (docs/protocol.md §10)",
    )  # fmt: skip
    messages["partnerAnswer"] = _message(
        "partnerAnswer", JOSE, contracts.partner_answer(), None,
        _properties(["correlation_id"], correlation_id="the query's `correlation_id`"),
        title="A partner's answer (docs/protocol.md §10)",
    )  # fmt: skip
    return messages


def _type_docs(config: Config) -> dict[str, str]:
    lines = [f"{name}: {urls['xsd']}, {urls['json']}" for name, urls in contracts.type_schemas(config).items()]
    return {
        "url": contracts.schema_url(config, "request.schema.json"),
        "description": "The request schemas; per document type: " + "; ".join(lines),
    }


def _schemas() -> dict[str, Schema]:
    reasons = [r.value for r in DeadReason]
    replayed = {
        REPLAYED_HEADER: {"type": "string", "enum": reasons, "description": "the former dead reason, on a replay"}
    }
    return {
        "responseHeaders": {
            "type": "object",
            "required": ["x-status"],
            "properties": {
                "x-status": {"type": "string", "enum": contracts.statuses()},
                "x-problem": {
                    "type": "string",
                    "enum": contracts.problem_codes(),
                    "description": "with refused, failed",
                },
                "x-retry-after": {"type": "integer", "minimum": 0, "description": "seconds, with `rate_limited`"},
            },
        },
        "replayedHeaders": {"type": "object", "properties": replayed},
        "deadHeaders": {
            "type": "object",
            "required": [REASON_HEADER, DEAD_AT_HEADER],
            "properties": {
                REASON_HEADER: {"type": "string", "enum": reasons},
                DEAD_AT_HEADER: {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"},
                **replayed,
            },
        },
    }
