"""The pipeline: one request through named stages, in one direction, to a sealed response.

    intake (1) -> verify (2, 3) -> validate (4) -> admit (5, 6, 7) -> answer once (8)
      -> route (the provider's adapter) -> attest (the sealed response)

The numbers are the checks of docs/protocol.md. Each stage is one module with a small public
surface; it returns a value for the next stage (`values`) or raises a `GatewayError` with a
stable problem code. `flow.Pipeline` runs the stages, and makes every failure a sealed
refusal or failure with its audit entry; `stopwatch` times them.

May import: the adapters, signing, schemas, the store's interface, metrics, KPIs, records,
configuration, errors, logs and the protocol constants. Never a transport, the runtime, the
web or anything above them.
"""

from __future__ import annotations

from gateway.pipeline.flow import Pipeline

__all__ = ["Pipeline"]
