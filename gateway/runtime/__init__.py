"""One running gateway worker, and what it needs from the machine it runs on.

- `worker`: `Gateway`, which starts the store, the broker connection, the adapters, the
  pipeline and the bus intake in order, stops them in reverse, reports readiness, and runs
  the background tasks (CRL reloads, gauges, forgetting old responses);
- `local_secrets`: the keys the gateway makes for itself under HOME/secrets;
- `event_loop`: uvloop, or asyncio's loop when asked;
- `sandboxes`: the command lines of the sandbox administrations, and subject ids to try.

May import the transports and everything below them; never the web, the dashboard or the
command line.
"""
