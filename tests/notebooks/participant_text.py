"""What a participant reads in a notebook's outputs, and the figures in it that are not pt-BR.

Issue 13: every number and date a participant reads goes through ``workshop.formatting``. A
decimal point (``0.334``, ``14.1%``) or an ISO day (``2025-12-31``, ``2026-12-01T11:56:39``) left in
an output means some cell or package function printed a figure by hand.

Left out on purpose, because the kit shows them as they are stored or sent:

* JSON documents and Query DSL (any ``{…}``/``[…]`` that parses as JSON, anywhere in a text),
  and an output that is a whole Python literal (``resposta.json()`` shown as the API answered);
* URLs (a Kibana link carries ISO times, as Kibana expects);
* an ISO day inside quotes: an error message echoing the participant's input (``'2026-02-30'``).

Index names (``model-2026.12.01``), versions (``3.8.0``), IP addresses and file names never
match: the patterns need a number that is not part of a longer dotted run.

Not caught, because pt-BR writes it the same way: a figure of one to three digits (not starting
with 0), a point and exactly three digits, as in ``2.400`` (two thousand four hundred) — so a
hand-formatted ``178.301`` passes. ``0.334``, ``14.1`` and ``183.162509`` are caught.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

#: ``0.334``, ``-0.5``, ``14.1%`` — but not ``2026.12.01``, ``3.8.0``, ``127.0.0.1`` or ``v1.2``.
POINT_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")
#: ``2025-12-31``, ``2026-12-01T11:56:39`` and ``2026-12-01 11:56:57.711846+00:00``.
ISO_DAY = re.compile(r"(?<![\w/-])\d{4}-\d{2}-\d{2}(?!\d)")
#: ``11:56:57.711846``: fractions of a second, which no participant needs.
FRACTIONAL_SECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+")
#: ``2.400``, ``15.351``, ``1.234.567``: pt-BR thousands, not decimals.
THOUSANDS = re.compile(r"[1-9]\d{0,2}(?:\.\d{3})+")
URL = re.compile(r"https?://\S+")
QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|“[^”\n]*”")

_DECODER = json.JSONDecoder()


def without_raw(text: str) -> str:
    """``text`` with JSON documents, Query DSL and URLs blanked out (see the module docstring)."""
    stripped = text.strip()
    if stripped[:1] in "{[":
        try:
            if isinstance(ast.literal_eval(stripped), dict | list):
                return ""
        except (ValueError, SyntaxError):
            pass
    text = URL.sub(" ", text)
    out, i = [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = _DECODER.raw_decode(text, i)
            except json.JSONDecodeError:
                value, end = None, i
            if isinstance(value, dict | list) and value:
                out.append(" ")
                i = end
                continue
        out.append(text[i])
        i += 1
    return "".join(out)


def offenders(text: str) -> list[str]:
    """The figures in ``text`` a participant should not read that way (empty when all is pt-BR)."""
    readable = without_raw(text)
    found = [n for n in POINT_DECIMAL.findall(readable) if not THOUSANDS.fullmatch(n)]
    found += FRACTIONAL_SECONDS.findall(readable)
    found += ISO_DAY.findall(QUOTED.sub(" ", readable))
    return found


def output_texts(output: dict[str, Any]) -> list[str]:
    """The plain text of one notebook output (a stream, or the text/plain of a rich output)."""
    if output.get("output_type") == "stream":
        return [str(output.get("text", ""))]
    data = output.get("data") or {}
    plain = data.get("text/plain")
    if plain is None:
        return []
    return ["".join(plain) if isinstance(plain, list) else str(plain)]
