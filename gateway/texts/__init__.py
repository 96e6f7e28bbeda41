"""Every text the gateway shows to people, in French and Arabic, in one home: the problem
messages of sealed refusals (`problems`), the operators' pages (`dashboard`), the periodic
report's headings (`report`) and the names of the wilayas (`wilayas`).

Each text is a (French, Arabic) pair. Pure data: nothing here imports from the gateway.
"""

from __future__ import annotations

LANGS = ("fr", "ar")
