"""What the stores keep of each delivery, without writing a sealed body twice.

A delivery record lets a redelivered message be answered again byte for byte. When the
answer is the request's remembered response (issued or not-found: same request id, same
response id), its body is already in `responses`; the delivery then keeps an empty body and
reads the response's back. Refusals and failures, which are not remembered responses, keep
their own body. This halves what the store writes per request.

An empty body stands for the response remembered for the request id, whichever worker's it
is: when two workers answered one request id (a lease taken over from a worker still at
work), the one whose completion came second records its delivery with an empty body, so
that a redelivery of its message is answered with the remembered response, as that worker
answered it.
"""

from __future__ import annotations

from typing import Any

from gateway.records import Completion, Delivery

#: The body column's value on insert (SQLite's placeholders; the PostgreSQL store writes the same
#: CASE in its one recording statement): empty when the response table holds the same response
#: (by request id and response id).
SQLITE_DELIVERY_BODY = (
    "CASE WHEN EXISTS (SELECT 1 FROM responses WHERE request_id = ? AND response_id = ?) THEN x'' ELSE ? END"
)
FIND_DELIVERY = (
    "SELECT d.key, d.request_id, CASE WHEN length(d.body) = 0 THEN r.response_id ELSE d.response_id END, "
    "CASE WHEN length(d.body) = 0 THEN r.body ELSE d.body END, d.kind, "
    "CASE WHEN length(d.body) = 0 THEN r.status ELSE d.status END, "
    "CASE WHEN length(d.body) = 0 THEN r.problem ELSE d.problem END FROM deliveries d "
    "LEFT JOIN responses r ON r.request_id = d.request_id AND length(d.body) = 0 WHERE d.key = $1"
)


def delivery_row(delivery: Delivery, completion: Completion | None) -> tuple[Any, ...]:
    """The delivery's columns, key to problem; the body empty when the delivery sends the response
    `completion` remembers (its body is then kept once, there)."""
    d = delivery
    carried = (
        completion is not None
        and d.request_id == completion.response.request_id
        and d.response_id == completion.response.response_id
    )
    return (d.key, d.request_id, d.response_id, b"" if carried else d.body, d.kind, d.status, d.problem)


def delivery_of(row: Any) -> Delivery | None:
    """The delivery found, or None, also when the response its body was in has been forgotten."""
    if row is None or row[3] is None:
        return None
    return Delivery(
        key=row[0],
        request_id=row[1],
        response_id=row[2],
        body=bytes(row[3]),
        kind=row[4],
        status=row[5],
        problem=row[6],
    )
