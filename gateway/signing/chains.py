"""The certificate chains that signatures carry (a JWS's `x5c`, an XML signature's KeyInfo):
read within bounds, and remembered only once a signature made with them has verified.

The same few participants sign most messages, so a verified chain is kept (up to
`CACHE_SIZE` chains, least recently used dropped) and not parsed again. A chain is only kept
after its signature and its trust path checked out: a stream of forged messages, each with a
chain of its own, leaves nothing behind. A chain of more than `MAX_CERTIFICATES`
certificates, or with a certificate over `MAX_CERTIFICATE_CHARS` characters of base64, is
refused before anything is decoded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509

from gateway.errors import SignatureInvalid

MAX_CERTIFICATES = 5
MAX_CERTIFICATE_CHARS = 16_384
CACHE_SIZE = 256


@dataclass(frozen=True)
class Chain:
    """A signer's certificate, the others given with it, and the text they were read from."""

    leaf: x509.Certificate
    others: list[x509.Certificate]
    key: tuple[str, ...]


_VERIFIED: OrderedDict[tuple[str, ...], Chain] = OrderedDict()


def read(texts: tuple[str, ...], where: str, parse: Callable[[tuple[str, ...]], Chain]) -> Chain:
    """The chain of `texts`: remembered when it verified before, else `parse(texts)`, not remembered."""
    if not texts:
        raise SignatureInvalid(f"{where} carries no certificate")
    if len(texts) > MAX_CERTIFICATES:
        raise SignatureInvalid(f"{where} carries {len(texts)} certificates; at most {MAX_CERTIFICATES}")
    if any(len(t) > MAX_CERTIFICATE_CHARS for t in texts):
        raise SignatureInvalid(f"{where} carries a certificate over {MAX_CERTIFICATE_CHARS} characters")
    known = _VERIFIED.get(texts)
    if known is not None:
        _VERIFIED.move_to_end(texts)
        return known
    return parse(texts)


def remember(chain: Chain) -> None:
    """Keeps `chain`, whose signature and trust path have just verified."""
    _VERIFIED[chain.key] = chain
    _VERIFIED.move_to_end(chain.key)
    while len(_VERIFIED) > CACHE_SIZE:
        _VERIFIED.popitem(last=False)


def remembered() -> int:
    """How many chains are kept."""
    return len(_VERIFIED)
