"""What the event logger's counters mean for a person: the ``eventos`` line of ``workshop doctor``.

:meth:`EventLogger.stats` (the ``events`` part of the service's ``/health``) says ``degraded``
with its ``reasons`` when the backlog passes a threshold, sends stop succeeding, or the journal is
at its bound; :func:`describe` turns those counters into one pt-BR line and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workshop import formatting


def _n(value: Any) -> str:
    """An integer as every figure of the kit reads (Babel, pt-BR: 1.234); ``?`` if missing."""
    try:
        return formatting.integer(int(value))
    except (TypeError, ValueError):
        return "?"


def _mb(value: Any) -> str:
    """Bytes in MB with one decimal (``3,0 MB``); ``?`` if missing."""
    try:
        return f"{formatting.number(float(value) / (1 << 20), 1)} MB"
    except (TypeError, ValueError):
        return "?"


def describe(stats: Mapping[str, Any]) -> tuple[bool, str, str]:
    """``(ok, detail, hint)`` for the logger's counters (pt-BR)."""
    ok = stats.get("state") == "ok"
    age = stats.get("last_success_age_s")
    last = "nenhum envio ainda" if age is None else f"último envio há {_n(age)} s"
    detail = (
        f"{'ok' if ok else 'DEGRADADO'} · na fila {_n(stats.get('queued'))}"
        f" · no spool {_n(stats.get('spool_size'))} ({_mb(stats.get('journal_bytes'))}"
        f" de {_mb(stats.get('journal_max_bytes'))})"
        f" · enviados {_n(stats.get('sent'))} · reenviados {_n(stats.get('replayed'))}"
        f" · recusados {_n(stats.get('failed'))} · descartados (diário cheio)"
        f" {_n(stats.get('overflowed'))} · {last}"
    )
    reasons = [str(r) for r in stats.get("reasons") or []]
    hint = ""
    if not ok:
        hint = "; ".join(reasons) or str(stats.get("detail") or "estado desconhecido")
        hint += " — os eventos esperam em disco e saem sozinhos quando o transporte voltar"
    return ok, detail, hint
