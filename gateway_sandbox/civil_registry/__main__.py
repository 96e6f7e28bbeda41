"""python -m gateway_sandbox.civil_registry --home DIR [--amqp-url URL] [--db PATH] [--queue NAME]
[--queue-type classic|quorum]"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gateway_sandbox import event_loop
from gateway_sandbox.civil_registry.service import QUEUE, serve


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gateway_sandbox.civil_registry",
        description="Sandbox civil registry: answers signed queries on the bus.",
    )
    parser.add_argument("--home", type=Path, default=Path("var"), help="the gateway's home (its pki/ is read)")
    parser.add_argument("--amqp-url", default=os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--db", type=Path, default=None, help="default: HOME/sandbox/civil-registry.sqlite3")
    parser.add_argument("--queue", default=QUEUE, help=f"the queue to answer on (default {QUEUE})")
    parser.add_argument(
        "--queue-type",
        choices=("classic", "quorum"),
        default=os.environ.get("GATEWAY_QUEUE_TYPE", "classic"),
        help="the type of that queue, as the gateway's queue_type",
    )
    args = parser.parse_args()
    event_loop.run(serve(args.home, args.amqp_url, args.db, args.queue, args.queue_type))


if __name__ == "__main__":
    main()
