"""The two transports that bring requests to the pipeline and take its answers away.

- `amqp`: consumes `gateway.requests` and the bulk lane, replies to `reply_to` with a publisher
  confirm, dead-letters what cannot be answered; records each answer before it acks.
- `lanes`: the priority lanes (urgent, normal, bulk) and the gate that orders work in a worker.
- `dead_letters`: what waits on `gateway.dead`, for operators: browse, replay, purge.
- `http`: `POST /v1/requests`, a bounded read, the same pipeline, the journal, the response.

May import the pipeline and everything it may import; never the runtime, the web or the
dashboard.
"""
