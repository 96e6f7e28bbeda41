"""The printed attestation: one A4 page per document type whose QR code, read back from the
image, verifies offline, and whose Arabic text is the source text."""

from __future__ import annotations

import datetime as dt
import subprocess
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest

from gateway.cli.verify import read_token
from gateway.printing.attestation_pdf import Party, Printable, render
from gateway.signing import pki
from gateway.signing.visible_seal import PRINTED, Claims, VisibleSealer, printed_fields, verify

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
ISSUER = "dz.exchange.gateway"
#: One record of each type, as a provider answers it (before the purpose's release list).
RECORDS: dict[str, dict[str, Any]] = {
    "birth-certificate": {
        "lastNameAr": "بن علي", "firstNameAr": "محمد الأمين", "lastNameLatin": "BENALI",
        "firstNameLatin": "Mohamed El Amine", "sex": "M", "birthDate": "1990-03-14", "birthCommune": "Bab El Oued",
        "birthWilaya": "16", "fatherName": "Ali", "motherName": "Fatima", "birthRecordNumber": "1990-16-001234",
    },
    "family-record": {"headOfFamily": "قاسمي عبد القادر", "spouses": [], "children": []},
    "death-record": {"deathRecorded": True, "deathDate": "2025-11-02", "deathCommune": "Oran", "deathWilaya": "31"},
    "residence-certificate": {"address": "12 rue Didouche Mourad", "commune": "Alger Centre", "wilaya": "16",
                              "since": "2015-06-01"},
    "tax-status-certificate": {"taxpayerName": "SARL Nour El Houda", "situation": "up-to-date",
                               "periodFrom": "2025-01-01", "periodTo": "2025-12-31"},
    "tax-registration": {"taxpayerName": "مؤسسة الأمل للبناء", "legalForm": "SARL", "address": "Sétif",
                         "taxCentre": "CDI Sétif", "registrationDate": "2012-04-17"},
    "commercial-register-extract": {"companyName": "EURL Tassili Informatique", "legalForm": "EURL",
                                    "nif": "000216001234567", "registrationDate": "2019-09-30", "status": "active"},
    "affiliation-certificate": {"lastNameLatin": "HADDAD", "firstNameLatin": "Amina",
                                "affiliationNumber": "901234567890", "affiliationDate": "2011-02-01",
                                "status": "active", "employerName": "Sonelgaz"},
    "contribution-status-certificate": {"companyName": "SPA Cevital Agro", "employerNumber": "16123456789",
                                        "upToDate": True, "lastPeriodPaid": "2026-10", "employees": 412},
}  # fmt: skip
PROVIDER = Party("dz.interieur.etat-civil", "Ministère de l'Intérieur — état civil", "وزارة الداخلية — الحالة المدنية")
REQUESTER = Party("dz.cnas", "Caisse nationale des assurances sociales des travailleurs salariés", "الصندوق الوطني")


@pytest.fixture(scope="module")
def seal() -> pki.Issued:
    return pki.issue(pki.make_ca(), ISSUER)


def printable(seal: pki.Issued, document_type: str) -> Printable:
    claims = Claims(
        str(uuid.uuid4()), ISSUER, NOW, NOW + dt.timedelta(days=90), document_type, PROVIDER.code, REQUESTER.code,
        "family-allowance", printed_fields(document_type, RECORDS[document_type]),
    )  # fmt: skip
    token = VisibleSealer(seal.key, seal.cert, ISSUER).seal(claims)
    return Printable(claims, token, "7KQ2-M9XD-4TBA", PROVIDER, REQUESTER, "https://exchange.example.dz/verify")


def qr_of(pdf: bytes, folder: Path) -> str:
    """The text of the QR code of the PDF's first page, read from its image by zbar."""
    (folder / "page.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "page.pdf", "page"], cwd=folder, check=True)
    [image] = folder.glob("page*.png")
    read = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
        capture_output=True,
        text=True,
        check=True,
    )
    return read.stdout.strip()


def text_of(pdf: bytes, folder: Path) -> str:
    (folder / "text.pdf").write_bytes(pdf)
    extracted = subprocess.run(["pdftotext", "text.pdf", "-"], cwd=folder, capture_output=True, text=True, check=True)
    return "".join(ch for ch in extracted.stdout if unicodedata.category(ch) != "Cf")  # without bidi marks


@pytest.mark.parametrize("document_type", sorted(PRINTED))
def test_each_type_prints_a_page_whose_qr_code_verifies_offline(
    document_type: str, seal: pki.Issued, tmp_path: Path
) -> None:
    """The page's QR code, read from its image, is the token; it verifies with the seal certificate alone
    and gives back the printed fields, which the page shows."""
    sample = printable(seal, document_type)
    pdf = render(sample)
    assert pdf.startswith(b"%PDF-")
    read = qr_of(pdf, tmp_path)
    assert read == sample.token
    verdict = verify(read, [seal.cert])
    assert verdict.status == "valid" and verdict.claims == sample.claims
    assert verdict.claims.fields, "no printed field"
    text = text_of(pdf, tmp_path)
    for value in verdict.claims.fields.values():
        if isinstance(value, str) and not value.isascii():
            assert value in text


def test_the_arabic_text_read_back_from_the_pdf_is_the_source_text(seal: pki.Issued, tmp_path: Path) -> None:
    """pdftotext gives back the Arabic names, the title and the republic's name as written, in logical order:
    the shaping is the font's, not presentation forms baked into the text."""
    pdf = render(printable(seal, "birth-certificate"))
    text = text_of(pdf, tmp_path)
    for source in ("بن علي", "محمد الأمين", "مستخرج من عقد الميلاد", "الجمهورية الجزائرية الديمقراطية الشعبية"):
        assert source in text


def test_a_qr_code_with_one_byte_changed_does_not_verify(seal: pki.Issued, tmp_path: Path) -> None:
    """The token read from the page with one character changed is no longer valid."""
    token = qr_of(render(printable(seal, "tax-status-certificate")), tmp_path)
    middle = len(token) // 2
    changed = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    assert verify(changed, [seal.cert]).status == "tampered"


def test_gateway_verify_finds_the_token_in_the_pdf_file(seal: pki.Issued, tmp_path: Path) -> None:
    """The PDF carries its token in its metadata, so `gateway verify FILE.pdf` reads it without the image."""
    sample = printable(seal, "commercial-register-extract")
    path = tmp_path / "attestation.pdf"
    path.write_bytes(render(sample))
    assert read_token(str(path)) == sample.token
