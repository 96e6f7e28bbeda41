"""Secrets the gateway makes for itself under HOME/secrets: the log key, the session key."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def secret_key(home: Path, name: str) -> bytes:
    """A 32-byte secret in HOME/secrets/<name> (mode 0600), made once and shared by the workers.

    It is written whole under a temporary name and linked into place, so workers starting
    together agree on one value.
    """
    path = home / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{name}.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
        temporary.unlink()
    return path.read_bytes()


def log_key(home: Path) -> bytes:
    """The key of the keyed hashes that stand for personal identifiers in logs and the audit journal."""
    return secret_key(home, "log.key")
