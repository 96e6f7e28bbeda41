"""An attestation people can hold: one A4 page in French and Arabic, with the printed fields,
the dates, the issuing administration, the visible seal as a QR code and the check code.

The page is HTML laid out by WeasyPrint (Pango and HarfBuzz shape the Arabic and set it right
to left). Its fonts ship with the gateway (Noto Sans, Noto Naskh Arabic; SIL Open Font
License), so a page looks the same on every host. The QR code is drawn by segno, as SVG, at
error correction level M. The token is also kept in the PDF's metadata (its subject), so that
`gateway verify FILE.pdf` finds it without reading the image.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno

from gateway.signing.visible_seal import Claims
from gateway.texts.printed import FIELDS, PURPOSES, TITLES, VALUES, WORDS

FONTS = Path(__file__).parent / "fonts"
QR_ERROR = "M"


@dataclass(frozen=True)
class Party:
    """A participant as printed: its code and its name in both languages."""

    code: str
    name_fr: str
    name_ar: str


@dataclass(frozen=True)
class Printable:
    """What one printed attestation shows."""

    claims: Claims
    token: str
    check_code: str
    provider: Party
    requester: Party
    verify_url: str  # the public verification page


def render(printable: Printable) -> bytes:
    """The PDF of `printable`."""
    import weasyprint  # loaded when a page is printed: about half a second, and Pango behind it

    return bytes(weasyprint.HTML(string=page(printable), base_url=str(FONTS)).write_pdf())


def qr_svg(token: str) -> str:
    """The QR code of `token` as inline SVG."""
    out = io.BytesIO()
    segno.make(token, error=QR_ERROR, micro=False, boost_error=False).save(
        out, kind="svg", scale=1, border=4, xmldecl=False, svgns=True, svgclass=None, lineclass=None
    )
    return out.getvalue().decode("ascii")


def value_words(value: Any) -> tuple[str, str]:
    """A field's value in French and Arabic: coded values in words, the rest as they are."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return VALUES.get(text, (text, text))


def page(printable: Printable) -> str:
    """The page's HTML."""
    c = printable.claims
    title_fr, title_ar = TITLES.get(c.document_type, (c.document_type, c.document_type))
    purpose_fr, purpose_ar = PURPOSES.get(c.purpose, (c.purpose, c.purpose))
    rows = "".join(_row(name, value) for name, value in c.fields.items())
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>{_e(title_fr)} — {_e(c.attestation_id)}</title>
<meta name="description" content="{_e(printable.token)}">
<meta name="generator" content="dz-exchange-gateway">
<style>{STYLE}</style>
</head>
<body>
<header>
  <p class="fr">{_e(WORDS["republic"][0])}</p>
  <p class="ar" dir="rtl" lang="ar">{_e(WORDS["republic"][1])}</p>
</header>
<section class="issuer">
  <div class="fr">{_e(WORDS["issued_by"][0])} <b>{_e(printable.provider.name_fr)}</b><br>
    {_e(WORDS["on_behalf_of"][0])} {_e(printable.requester.name_fr)}</div>
  <div class="ar" dir="rtl" lang="ar">{_e(WORDS["issued_by"][1])} <b>{_e(printable.provider.name_ar)}</b><br>
    {_e(WORDS["on_behalf_of"][1])} {_e(printable.requester.name_ar)}</div>
</section>
<h1><span class="fr">{_e(title_fr)}</span><span class="ar" dir="rtl" lang="ar">{_e(title_ar)}</span></h1>
<table class="fields">{rows}
  {_pair("purpose", purpose_fr, purpose_ar)}
  {_pair("issued", _day(c.issued_at), _day(c.issued_at))}
  {_pair("valid_until", _day(c.valid_until), _day(c.valid_until))}
  {_pair("attestation", c.attestation_id, c.attestation_id)}
</table>
<section class="seal">
  <div class="qr">{qr_svg(printable.token)}</div>
  <div class="check">
    <p class="fr">{_e(WORDS["check_code"][0])}</p>
    <p class="code">{_e(printable.check_code)}</p>
    <p class="ar" dir="rtl" lang="ar">{_e(WORDS["check_code"][1])}</p>
  </div>
</section>
<footer>
  <p class="fr">{_e(WORDS["seal_note"][0])} <span class="url">{_e(printable.verify_url)}</span></p>
  <p class="ar" dir="rtl" lang="ar">{_e(WORDS["seal_note"][1])}
    <span class="url" dir="ltr">{_e(printable.verify_url)}</span></p>
</footer>
</body>
</html>"""


def _row(name: str, value: Any) -> str:
    label_fr, label_ar = FIELDS.get(name, (name, name))
    return _line(label_fr, *value_words(value), label_ar, kind="field", direction="auto")


def _pair(word: str, value_fr: str, value_ar: str) -> str:
    label_fr, label_ar = WORDS[word]
    return _line(label_fr, value_fr, value_ar, label_ar, kind="meta", direction="ltr")


def _line(label_fr: str, value_fr: str, value_ar: str, label_ar: str, kind: str, direction: str) -> str:
    """A table row: the French label, the value (once when both languages write it alike: a name,
    a date, a number), the Arabic label."""
    if value_fr == value_ar:
        shown = f'<td class="value" colspan="2" dir="{direction}">{_e(value_fr)}</td>'
    else:
        shown = f'<td class="value">{_e(value_fr)}</td><td class="value ar" dir="rtl" lang="ar">{_e(value_ar)}</td>'
    return (
        f'\n  <tr class="{kind}"><th class="fr">{_e(label_fr)}</th>{shown}'
        f'<th class="ar" dir="rtl" lang="ar">{_e(label_ar)}</th></tr>'
    )


def _day(at: dt.datetime) -> str:
    return f"{at:%Y-%m-%d}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def parties(names: Mapping[str, tuple[str, str]], code: str) -> Party:
    """A participant's printed names from (French, Arabic) names by code; its code when unknown."""
    name_fr, name_ar = names.get(code, (code, code))
    return Party(code, name_fr, name_ar or name_fr)


STYLE = """
@font-face { font-family: "Noto Sans"; src: url(NotoSans-Regular.ttf); }
@font-face { font-family: "Noto Sans"; font-weight: bold; src: url(NotoSans-Bold.ttf); }
@font-face { font-family: "Noto Naskh Arabic"; src: url(NotoNaskhArabic-Regular.ttf); }
@font-face { font-family: "Noto Naskh Arabic"; font-weight: bold; src: url(NotoNaskhArabic-Bold.ttf); }
@page { size: A4; margin: 16mm 16mm 14mm 16mm; }
body { font-family: "Noto Sans", "Noto Naskh Arabic"; font-size: 10pt; color: #111; }
.ar { font-family: "Noto Naskh Arabic", "Noto Sans"; text-align: right; }
header { display: flex; justify-content: space-between; border-bottom: 1.2pt solid #0b6e4f; padding-bottom: 2mm; }
header p { margin: 0; font-weight: bold; }
.issuer { display: flex; justify-content: space-between; gap: 8mm; margin: 4mm 0; font-size: 9.5pt; }
.issuer div { width: 50%; }
h1 { display: flex; justify-content: space-between; font-size: 15pt; margin: 6mm 0 4mm; color: #0b6e4f; }
table.fields { width: 100%; border-collapse: collapse; }
table.fields th, table.fields td { padding: 1.8mm 2mm; border-bottom: 0.4pt solid #bbb; vertical-align: top; }
table.fields th { font-weight: normal; color: #444; width: 24%; }
table.fields th.fr { text-align: left; }
table.fields td.value { font-weight: bold; }
table.fields tr.meta td.value { font-weight: normal; }
.seal { display: flex; align-items: center; gap: 8mm; margin-top: 8mm; }
.qr svg { width: 42mm; height: 42mm; }
.check p { margin: 1mm 0; }
.check .code { font-size: 18pt; font-weight: bold; letter-spacing: 1pt; }
footer { position: absolute; bottom: 0; left: 0; right: 0; font-size: 8pt; color: #333;
         border-top: 0.4pt solid #999; padding-top: 2mm; }
footer p { margin: 1mm 0; }
"""
