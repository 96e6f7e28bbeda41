"""The registration authority: certificate requests checked against the protocol's key rules,
certificates issued from the exchange CA, participants recorded, and revocation through a CRL."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway import config as config_module
from gateway.errors import CertificateRevoked
from gateway.registry.enrolment import EnrolmentError, make_request
from gateway.registry.participants import REGISTRY, Registry
from gateway.registry.policy import effective
from gateway.signing.pki import ensure_development_pki, participant_name
from gateway.signing.trust import TrustStore

SEEDS = {"dz.cnas": ("CNAS", ("requester",))}


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    ensure_development_pki(folder, ["dz.cnas"])
    return folder


def csr_with(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, code: str) -> x509.CertificateSigningRequest:
    return x509.CertificateSigningRequestBuilder().subject_name(participant_name(code)).sign(key, hashes.SHA256())


def test_a_registered_participant_gets_a_certificate_the_gateway_trusts(pki: Path) -> None:
    """The certificate issued for a request chains to the exchange CA and speaks for the code it asked for."""
    key, csr = make_request("dz.caisse-retraite", "Caisse nationale des retraites")
    participant, cert = Registry(pki, SEEDS).register(csr, "provider")
    assert participant.code == "dz.caisse-retraite" and participant.roles == ("provider",)
    assert cert.public_key() == key.public_key()
    signer = TrustStore.from_pem_file(pki / "ca.pem", pki / "crl").verify(cert)
    assert signer.participant == "dz.caisse-retraite"
    listed = Registry(pki, SEEDS).participants()
    assert set(listed) == {"dz.caisse-retraite", "dz.cnas"} and listed["dz.cnas"].seeded


def test_a_provider_certificate_names_the_hosts_of_its_https_server(pki: Path) -> None:
    """`--host` puts the server's names in the certificate, so TLS checks them; without it, the local machine."""
    _, csr = make_request("dz.caisse-retraite", "CNR")
    _, cert = Registry(pki, SEEDS).register(csr, "provider", hosts=("api.cnr.dz", "10.1.2.3"))
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["api.cnr.dz"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]
    _, csr = make_request("dz.anem", "ANEM")
    _, cert = Registry(pki, SEEDS).register(csr, "provider")
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


def test_a_malformed_host_is_refused_and_nothing_is_recorded(pki: Path) -> None:
    """A host that is neither a DNS name nor an IP address is refused, naming it, before anything is written."""
    _, csr = make_request("dz.caisse-retraite", "CNR")
    with pytest.raises(EnrolmentError, match=r"--host 'api_cnr\.dz'"):
        Registry(pki, SEEDS).register(csr, "provider", hosts=("api_cnr.dz",))
    assert not (pki / REGISTRY).exists()


@pytest.mark.parametrize(
    ("key", "code", "names"),
    [
        (rsa.generate_private_key(65537, 1024), "dz.caisse-retraite", "at least 2048"),
        (ec.generate_private_key(ec.SECP224R1()), "dz.caisse-retraite", "elliptic curve secp224r1 is not accepted"),
        (ec.generate_private_key(ec.SECP256R1()), "Caisse_Retraite", "participant code 'Caisse_Retraite'"),
        (ec.generate_private_key(ec.SECP256R1()), "dz.cnas", "already a participant"),
    ],
    ids=["weak-rsa", "curve", "bad-code", "clash"],
)
def test_a_request_the_exchange_refuses_changes_nothing(
    pki: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, code: str, names: str
) -> None:
    """A weak key, an unaccepted curve, a malformed code or a code already taken is refused with a message
    that names it, and the register is not written."""
    with pytest.raises(EnrolmentError, match=names):
        Registry(pki, SEEDS).register(csr_with(key, code), "requester")
    assert not (pki / REGISTRY).exists()
    assert not (pki / "issued").exists()


def test_a_code_registered_once_cannot_be_registered_again(pki: Path) -> None:
    """A second request for a registered code is refused and leaves the first registration as it was."""
    registry = Registry(pki, SEEDS)
    registry.register(make_request("dz.anem", "ANEM")[1], "requester")
    before = (pki / REGISTRY).read_bytes()
    with pytest.raises(EnrolmentError, match="already a participant"):
        registry.register(make_request("dz.anem", "ANEM")[1], "requester")
    assert (pki / REGISTRY).read_bytes() == before


def test_an_unknown_role_and_an_excessive_validity_are_refused(pki: Path) -> None:
    """Only the protocol's roles and at most 825 days of validity are issued."""
    registry = Registry(pki, SEEDS)
    with pytest.raises(EnrolmentError, match="role 'admin'"):
        registry.register(make_request("dz.anem", "ANEM")[1], "admin")
    with pytest.raises(EnrolmentError, match="1 to 825 days"):
        registry.register(make_request("dz.anem", "ANEM")[1], "requester", days=3650)


def test_revoking_lists_the_certificate_in_a_crl_the_trust_store_reads(pki: Path) -> None:
    """After revocation the trust store, reloading its CRLs, refuses the certificate with certificate_revoked."""
    registry = Registry(pki, SEEDS)
    _, cert = registry.register(make_request("dz.anem", "ANEM")[1], "requester")
    trust = TrustStore.from_pem_file(pki / "ca.pem", pki / "crl")
    trust.verify(cert)
    revoked = registry.revoke("dz.anem", "key lost")
    assert [c.status for c in revoked.certificates] == ["revoked"] and revoked.certificates[0].reason == "key lost"
    assert trust.reload_crls()
    with pytest.raises(CertificateRevoked) as refused:
        trust.verify(cert)
    assert refused.value.code == "certificate_revoked"


def test_a_seeded_participant_can_be_revoked_too(pki: Path) -> None:
    """A participant of the configuration, with its development certificate, is revoked like a registered one."""
    cert = x509.load_pem_x509_certificate((pki / "dz.cnas" / "cert.pem").read_bytes())
    Registry(pki, SEEDS).revoke("dz.cnas", "left the exchange")
    trust = TrustStore.from_pem_file(pki / "ca.pem", pki / "crl")
    with pytest.raises(CertificateRevoked):
        trust.verify(cert)


@pytest.mark.parametrize(
    ("code", "reason", "names"),
    [("dz.nobody", "gone", "not a participant"), ("dz.cnas", " ", "say why")],
    ids=["unknown", "no-reason"],
)
def test_a_revocation_that_cannot_be_done_changes_nothing(pki: Path, code: str, reason: str, names: str) -> None:
    """Revoking an unknown participant, or without a reason, is refused and writes no CRL."""
    with pytest.raises(EnrolmentError, match=names):
        Registry(pki, SEEDS).revoke(code, reason)
    assert not (pki / "crl" / "registry.crl.pem").exists()


def test_revoking_twice_says_there_is_nothing_left_to_revoke(pki: Path) -> None:
    """A participant whose certificates are all revoked cannot be revoked again."""
    registry = Registry(pki, SEEDS)
    registry.register(make_request("dz.anem", "ANEM")[1], "requester")
    registry.revoke("dz.anem", "key lost")
    with pytest.raises(EnrolmentError, match="no active certificate"):
        registry.revoke("dz.anem", "again")


def test_a_renewal_keeps_the_old_certificate_for_the_overlap_only(pki: Path) -> None:
    """After a renewal both certificates are accepted; once the overlap has ended the old one is retired and
    the trust store refuses it with certificate_revoked, while the new one stays trusted."""
    registry = Registry(pki, SEEDS)
    _, old = registry.register(make_request("dz.anem", "ANEM")[1], "requester")
    _, new = registry.renew("dz.anem", make_request("dz.anem", "ANEM")[1], overlap_hours=1)
    assert registry.retired_serials() == frozenset()
    assert len(registry.find("dz.anem").active) == 2  # type: ignore[union-attr]
    _, newest = registry.renew("dz.anem", make_request("dz.anem", "ANEM")[1], overlap_hours=0)
    assert registry.retired_serials() == {old.serial_number, new.serial_number}
    trust = TrustStore.from_pem_file(pki / "ca.pem", pki / "crl")
    assert trust.retire(registry.retired_serials())
    with pytest.raises(CertificateRevoked, match="renewed"):
        trust.verify(old)
    assert trust.verify(newest).participant == "dz.anem"


@pytest.mark.parametrize(
    ("code", "overlap", "names"),
    [("dz.nobody", 24.0, "names dz.anem, not dz.nobody"), ("dz.anem", 1000.0, "0 to 720 hours")],
    ids=["other-code", "overlap"],
)
def test_a_renewal_that_cannot_be_done_changes_nothing(pki: Path, code: str, overlap: float, names: str) -> None:
    """A request for another code, or an overlap over 30 days, is refused and the register is not rewritten."""
    registry = Registry(pki, SEEDS)
    registry.register(make_request("dz.anem", "ANEM")[1], "requester")
    before = (pki / REGISTRY).read_bytes()
    with pytest.raises(EnrolmentError, match=names):
        registry.renew(code, make_request("dz.anem", "ANEM")[1], overlap_hours=overlap)
    assert (pki / REGISTRY).read_bytes() == before


def test_a_participant_registered_with_its_arabic_name_keeps_it_for_printing(pki: Path, tmp_path: Path) -> None:
    """`register(..., name_ar=...)` records the Arabic name beside the request's, reads it back from the
    registry, and the configuration in effect gives it to the printed attestations."""
    _, csr = make_request("dz.caisse-retraite", "Caisse nationale des retraites")
    Registry(pki, SEEDS).register(csr, "provider", name_ar=" الصندوق الوطني للتقاعد ")
    listed = Registry(pki, SEEDS).participants()["dz.caisse-retraite"]
    assert (listed.name, listed.name_ar) == ("Caisse nationale des retraites", "الصندوق الوطني للتقاعد")
    config = effective(config_module.load(), tmp_path)
    assert config.participants["dz.caisse-retraite"].name_ar == "الصندوق الوطني للتقاعد"
