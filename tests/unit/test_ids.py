"""Response, attestation and query ids: version-4 UUIDs, never repeated, not even across a fork."""

from __future__ import annotations

import os
import uuid

from gateway.ids import check_code, id_prefix, random_uuid


def test_ids_are_version_4_uuids_in_canonical_text() -> None:
    """Each id parses as a UUID of version 4 and the RFC variant, and reads back as the same text."""
    for _ in range(1000):
        text = random_uuid()
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def test_no_id_repeats_across_many_pool_refills() -> None:
    """100,000 ids (hundreds of 4 kB draws) are all distinct."""
    assert len({random_uuid() for _ in range(100_000)}) == 100_000


def test_a_forked_child_does_not_reuse_its_parents_random_bytes() -> None:
    """After a fork, the child's next ids differ from the ones its parent draws next."""
    random_uuid()  # the pool is filled in the parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, ",".join(random_uuid() for _ in range(5)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = set(os.read(read, 4096).decode().split(","))
    os.close(read)
    assert len(child) == 5 and not child & {random_uuid() for _ in range(5)}


def test_hex_names_have_the_asked_length_and_do_not_repeat() -> None:
    """`random_hex(8)` (a seal's Id) is 16 lowercase hex digits, and 50,000 of them are all distinct."""
    from gateway.ids import random_hex

    names = {random_hex(8) for _ in range(50_000)}
    assert len(names) == 50_000
    assert all(len(n) == 16 and int(n, 16) >= 0 and n == n.lower() for n in list(names)[:100])
    assert len(random_hex(5000)) == 10_000  # larger than one draw of the pool


def test_a_check_code_stands_for_the_beginning_of_its_attestation_id() -> None:
    """The printed check code gives back the first 15 hex digits of the id, read with O for 0 and
    lowercase; anything else is no check code."""
    attestation_id = random_uuid()
    code = check_code(attestation_id)
    assert len(code) == 14 and code.count("-") == 2
    assert id_prefix(code) == attestation_id[:17]
    assert id_prefix(code.lower().replace("0", "o").replace("-", " ")) == attestation_id[:17]
    assert id_prefix("7KQ2-M9XD-4TB") is None and id_prefix("7KQ2-M9XD-4TBU") is None
