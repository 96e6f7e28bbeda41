"""The benchmark, outside the gateway's package: in one run, on one broker, two messaging
baselines and the gateway's full path.

    gateway bench [--requests N] [--rounds K] [--in-flight C] [--rate R] [--seconds S] [--workers W]

(`python -m benchmarks` is the same command.)

- echo: a client and an echo server (separate processes) exchanging persistent messages
  with publisher confirms; the messaging floor of one round trip.
- relay: client -> relay -> partner echo -> relay -> client, three processes: the messaging
  that every gateway request needs, and the ceiling for the gateway's shape of work.
- full path: pre-signed XML requests, spread over the catalogue's document types and several
  agencies, sent to gateway worker processes, which verify, validate, admit, query the
  sandbox administrations (each its own process: the civil registry over the bus, the tax
  directorate over REST with mutual TLS, the commercial register over SOAP), seal and reply.
  Every sealed response is verified afterwards; lost and duplicated answers are counted.

The relay and the full path run in K rounds, each full path run right after a relay run on
processes that stay up, and the ratio reported is the median of the K per-round ratios: this
machine's speed drifts by tens of percent within a minute, and a ratio of two runs taken far
apart would measure the drift. The baselines run on the gateway's event loop (uvloop), so
that the ratio compares the gateway's own work, not two event loops.

Then, after a pause of a few seconds (the store's checkpoint of the burst), the same path
at R requests per second offered, for S seconds, for the latency (p50, p99) and the
gateway's memory.

Each phase runs on queues named for this run, deleted at the end.

Modules: `run` (the phases), `mix` (the signed requests), `measures` (latencies, CPU, memory),
`processes` (spawning and stopping, queues), `roles` (the echo, the relay, a gateway worker on
the run's queues), `cli` (the command).

May import the gateway, its sandboxes and `gateway_client`; nothing imports it.
"""
