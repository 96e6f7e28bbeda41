"""The visible seal: a compact token, signed with the gateway's seal key, that a phone reads
from a QR code and anyone checks offline with the exchange's public seal certificate.

Its layers, each with a published specification (the same as the EU digital COVID
certificate's, with our own prefix and claims):

    "DZ1:" + Base45(zlib(COSE_Sign1))                  RFC 9285, RFC 1950, RFC 9052

- **COSE_Sign1** (RFC 9052 §4.2, CBOR tag 18): `[protected, {}, payload, signature]`. The
  protected header is `{1: alg, 4: kid}`: alg ES256 (-7) with a P-256 seal key, PS256 (-37)
  with an RSA one; kid the first 8 bytes of the SHA-256 of the seal certificate (DER). The
  signature covers `["Signature1", protected, b"", payload]`; an ES256 signature is R || S.
- **The payload** is a CBOR map with CWT claims (RFC 8392): 1 `iss` (the exchange's code),
  4 `exp` and 6 `iat` (seconds since the epoch: the attestation's validity), 7 `cti` (the
  attestation id, 16 bytes); and under -70001 the attestation: `{"t": type, "p": provider,
  "r": requester, "u": purpose, "f": {field: value}}`, where `f` holds only the fields printed
  on the document, among those the purpose released.

`cbor2` and `cryptography` do the work; the format is small enough to be written here and
checked against an independent COSE implementation in the tests.
"""

from __future__ import annotations

import array
import datetime as dt
import hashlib
import sys
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import base45
import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from gateway.signing.pki import PrivateKey

PREFIX = "DZ1:"
ES256, PS256 = -7, -37
ALG, KID = 1, 4
ISS, EXP, IAT, CTI = 1, 4, 6, 7
ATTESTATION = -70001  # private-use claim key (RFC 8392 §9.1: negative keys below -65536)
COSE_SIGN1_TAG = 18
MAX_TOKEN = 4096  # characters: a QR code holds at most 4,296 alphanumeric ones
MAX_COSE = 16384  # bytes, once inflated
_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_HIGH = [_B45[m % 45] + _B45[m // 45] for m in range(65536 // 45 + 1)]  # a pair's 2nd and 3rd characters

#: The fields printed on each document type, in this order: those that identify its holder
#: and say what the document attests. The purpose's release list is applied first.
PRINTED: dict[str, tuple[str, ...]] = {
    "birth-certificate": ("lastNameAr", "firstNameAr", "lastNameLatin", "firstNameLatin", "birthDate", "birthCommune"),
    "family-record": ("headOfFamily",),
    "death-record": ("deathRecorded", "deathDate", "deathCommune"),
    "residence-certificate": ("commune", "wilaya", "since"),
    "tax-status-certificate": ("taxpayerName", "situation", "periodFrom", "periodTo"),
    "tax-registration": ("taxpayerName", "taxCentre", "registrationDate"),
    "commercial-register-extract": ("companyName", "legalForm", "registrationDate", "status"),
    "affiliation-certificate": ("lastNameLatin", "firstNameLatin", "affiliationNumber", "status", "employerName"),
    "contribution-status-certificate": ("companyName", "employerNumber", "upToDate", "lastPeriodPaid"),
}


class VisibleSealError(Exception):
    """A token that does not check out; `verdict` says how (see `Verdict`)."""

    def __init__(self, verdict: str, detail: str) -> None:
        super().__init__(detail)
        self.verdict = verdict
        self.detail = detail


@dataclass(frozen=True)
class Claims:
    """What a visible seal says."""

    attestation_id: str
    issuer: str
    issued_at: dt.datetime
    valid_until: dt.datetime
    document_type: str
    provider: str
    requester: str
    purpose: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The outcome of an offline check: `valid`, `expired`, `tampered` or `unknown-signer`."""

    status: str
    detail: str
    claims: Claims | None = None

    @property
    def valid(self) -> bool:
        return self.status == "valid"


def printed_fields(document_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of `data` (already minimised by purpose) printed on a `document_type`."""
    return {name: data[name] for name in PRINTED.get(document_type, ()) if name in data and data[name] is not None}


def key_id(certificate: x509.Certificate) -> bytes:
    """The kid of a seal certificate: the first 8 bytes of the SHA-256 of its DER form."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]


class VisibleSealer:
    """Signs visible seals with the gateway's seal key; the header is encoded once. `issuer` is the
    code of the seal certificate's holder, for the claims it signs."""

    def __init__(self, key: PrivateKey, certificate: x509.Certificate, issuer: str) -> None:
        self._key = key
        self.issuer = issuer
        alg = ES256 if isinstance(key, ec.EllipticCurvePrivateKey) else PS256
        self._protected = cbor2.dumps({ALG: alg, KID: key_id(certificate)})

    def seal(self, claims: Claims) -> str:
        """The token of `claims`, ready for a QR code."""
        payload = cbor2.dumps(
            {
                ISS: claims.issuer,
                IAT: int(claims.issued_at.timestamp()),
                EXP: int(claims.valid_until.timestamp()),
                CTI: uuid.UUID(claims.attestation_id).bytes,
                ATTESTATION: {
                    "t": claims.document_type,
                    "p": claims.provider,
                    "r": claims.requester,
                    "u": claims.purpose,
                    "f": claims.fields,
                },
            }
        )
        to_sign = _sig_structure(self._protected, payload)
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            r, s = utils.decode_dss_signature(self._key.sign(to_sign, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            signature = self._key.sign(to_sign, _pss(), hashes.SHA256())
        cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [self._protected, {}, payload, signature]))
        return PREFIX + b45encode(zlib.compress(cose, 9))


def b45encode(data: bytes) -> str:
    """Base45 (RFC 9285), as the `base45` package writes it, but with the last two characters of every
    pair of bytes from a table: three times faster than the package (the visible seal is written with
    every issued attestation; it is read back with the package)."""
    even = len(data) - len(data) % 2
    pairs = array.array("H", data[:even])
    if sys.byteorder == "little":
        pairs.byteswap()
    tail = data[even:]
    last = _B45[tail[0] % 45] + _B45[tail[0] // 45] if tail else ""
    return "".join([_B45[n % 45] + _B45_HIGH[n // 45] for n in pairs]) + last


def verify(token: str, certificates: Iterable[x509.Certificate], now: dt.datetime | None = None) -> Verdict:
    """Checks a token offline against the exchange's seal certificates: `valid`, `expired` (a good
    signature past its validity), `tampered` (unreadable, or a signature that does not match the
    certificate it names) or `unknown-signer` (signed by a key none of `certificates` holds)."""
    try:
        claims = check(token, certificates)
    except VisibleSealError as exc:
        return Verdict(exc.verdict, exc.detail)
    now = now or dt.datetime.now(dt.UTC)
    if now >= claims.valid_until:
        return Verdict("expired", f"valid until {claims.valid_until:%Y-%m-%d %H:%M} UTC", claims)
    return Verdict("valid", f"sealed by {claims.issuer}", claims)


def check(token: str, certificates: Iterable[x509.Certificate]) -> Claims:
    """The claims of a token whose signature verifies; `VisibleSealError` otherwise."""
    return _claims(open_token(token, certificates))


def open_token(token: str, certificates: Iterable[x509.Certificate], prefix: str = PREFIX) -> bytes:
    """The payload of a `prefix` + Base45(zlib(COSE_Sign1)) token whose signature verifies with the
    certificate its kid names; `VisibleSealError` otherwise. (With prefix "HC1:" it opens an EU
    digital COVID certificate: the tests check it against the EU's published test data.)"""
    protected, payload, signature = _unwrap(token.strip(), prefix)
    try:
        header = cbor2.loads(protected)
        alg, kid = header[ALG], header[KID]
    except (cbor2.CBORDecodeError, KeyError, TypeError, ValueError):
        raise VisibleSealError("tampered", "the protected header is unreadable") from None
    known = {key_id(c): c for c in certificates}
    certificate = known.get(kid) if isinstance(kid, bytes) else None
    if certificate is None:
        raise VisibleSealError("unknown-signer", "signed by a key that is not the exchange's seal key")
    if not _signature_holds(certificate, alg, _sig_structure(protected, payload), signature):
        raise VisibleSealError("tampered", "the signature does not match the content")
    return payload


def _unwrap(token: str, prefix: str) -> tuple[bytes, bytes, bytes]:
    if not token.startswith(prefix):
        raise VisibleSealError("tampered", f"a visible seal starts with {prefix}")
    if len(token) > MAX_TOKEN:
        raise VisibleSealError("tampered", "longer than any visible seal")
    try:
        inflate = zlib.decompressobj()
        cose = inflate.decompress(base45.b45decode(token[len(prefix) :]), MAX_COSE)
        if inflate.unconsumed_tail or not inflate.eof:
            raise ValueError("too large or truncated")
        tagged = cbor2.loads(cose)
    except (ValueError, zlib.error, cbor2.CBORDecodeError):
        raise VisibleSealError("tampered", "the token does not decode (Base45, zlib, CBOR)") from None
    if not isinstance(tagged, cbor2.CBORTag) or tagged.tag != COSE_SIGN1_TAG:
        raise VisibleSealError("tampered", "not a COSE_Sign1 structure")
    parts = tagged.value
    shaped = isinstance(parts, (list, tuple)) and len(parts) == 4  # cbor2 6 reads a tagged array as a tuple
    if not (shaped and all(isinstance(parts[i], bytes) for i in (0, 2, 3))):
        raise VisibleSealError("tampered", "not a COSE_Sign1 structure")
    return parts[0], parts[2], parts[3]


def _signature_holds(certificate: x509.Certificate, alg: object, to_sign: bytes, signature: bytes) -> bool:
    public = certificate.public_key()
    try:
        if alg == ES256 and isinstance(public, ec.EllipticCurvePublicKey) and len(signature) == 64:
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            der = utils.encode_dss_signature(r, s)
            public.verify(der, to_sign, ec.ECDSA(hashes.SHA256()))
        elif alg == PS256 and isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, to_sign, _pss(), hashes.SHA256())
        else:
            return False
    except InvalidSignature:
        return False
    return True


def _claims(payload: bytes) -> Claims:
    try:
        body = cbor2.loads(payload)
        attestation = body[ATTESTATION]
        fields = attestation["f"]
        if not isinstance(fields, dict):
            raise TypeError("f")
        return Claims(
            attestation_id=str(uuid.UUID(bytes=body[CTI])),
            issuer=str(body[ISS]),
            issued_at=dt.datetime.fromtimestamp(body[IAT], dt.UTC),
            valid_until=dt.datetime.fromtimestamp(body[EXP], dt.UTC),
            document_type=str(attestation["t"]),
            provider=str(attestation["p"]),
            requester=str(attestation["r"]),
            purpose=str(attestation["u"]),
            fields=fields,
        )
    except (cbor2.CBORDecodeError, KeyError, TypeError, ValueError, OverflowError):
        raise VisibleSealError("tampered", "the signed content is not a visible seal's") from None


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _pss() -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
