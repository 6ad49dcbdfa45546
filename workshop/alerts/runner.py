"""``workshop monitor run``: one round (``--once``) or a round every interval until stopped.

A round: send what the spool holds, read the last alert states, evaluate every rule, write the
check documents and the state changes (:mod:`workshop.alerts.store`). With ``--every`` the loop
waits on an event that SIGTERM/SIGINT set, so ``docker compose stop`` ends it between rounds
(or during the wait) with exit 0, never in the middle of a write.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from workshop.alerts import checks, store
from workshop.alerts.rules import RuleSet, load_rules, parse_duration
from workshop.config import Settings, get_settings
from workshop.errors import InvalidInputError, StackError


@dataclass
class RoundResult:
    """What one round evaluated and wrote."""

    at: datetime
    evaluations: list[checks.Evaluation]
    transitions: list[store.Transition] = field(default_factory=list)
    written: int = 0
    spooled: int = 0
    replayed: int = 0

    @property
    def firing(self) -> list[checks.Evaluation]:
        return [e for e in self.evaluations if e.firing]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "firing": len(self.firing),
            "written": self.written,
            "spooled": self.spooled,
            "replayed": self.replayed,
            "evaluations": [e.to_dict() for e in self.evaluations],
            "transitions": [t.__dict__ for t in self.transitions],
        }


def _connect(settings: Settings) -> Any:
    from workshop import stack

    return stack.connect(settings)


def run_once(
    rules: RuleSet | None = None,
    *,
    es: Any = None,
    settings: Settings | None = None,
    now: datetime | None = None,
    write: bool = True,
    progress: bool = False,
    spool: store.Spool | None = None,
) -> RoundResult:
    """Evaluate every rule now; with ``write``, store the documents (spooling what fails)."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from workshop import stack

    settings = settings or get_settings()
    rules = rules or load_rules()
    es = es or _connect(settings)
    spool = spool or store.Spool(settings)
    replayed = 0
    try:
        if write:
            stack.ensure_template(es)
            replayed = store.replay(es, spool).replayed
        ctx = checks.current_context(es=es, settings=settings, now=now)
        evaluations = checks.evaluate(rules, ctx, progress=progress)
        previous = store.current_states(es)
    except (ApiError, TransportError) as exc:
        raise stack.es_error(exc, "avaliar as regras de monitoramento", settings) from None
    result = RoundResult(ctx.now, evaluations, replayed=replayed)
    if write:
        actions, result.transitions = store.documents(evaluations, previous, ctx.now)
        outcome = store.write(es, actions, spool)
        result.written, result.spooled = outcome.written, outcome.spooled
        result.replayed += outcome.replayed
    else:
        _, result.transitions = store.documents(evaluations, previous, ctx.now)
    return result


def parse_interval(value: str) -> timedelta:
    """``--every`` value ("60s", "5m"): at least 10 seconds; pt-BR error otherwise."""
    try:
        interval = parse_duration(value)
    except ValueError as exc:
        raise InvalidInputError(f"Intervalo inválido para --every: {exc}.") from None
    if interval < timedelta(seconds=10):
        raise InvalidInputError("Intervalo inválido para --every: use pelo menos 10s.")
    return interval


class Stopper:
    """An event set by SIGTERM/SIGINT (installed only in the main thread)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum
        self.event.set()

    def __enter__(self) -> Stopper:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def run_forever(
    interval: timedelta,
    *,
    rules_path: Path | None = None,
    settings: Settings | None = None,
    echo: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    max_rounds: int | None = None,
) -> int:
    """A round every ``interval`` until SIGTERM/SIGINT (or ``stop`` is set); returns rounds run.

    A round that fails (Elasticsearch away) is reported and retried at the next tick: a monitor
    container must outlive a restart of the engine.
    """
    settings = settings or get_settings()
    rules = load_rules(rules_path)  # a bad file stops here, before any round
    rounds = 0
    with Stopper() as stopper:
        event = stop or stopper.event
        echo(
            f"Monitorando {len(rules.rules)} regras a cada {int(interval.total_seconds())} s "
            "(SIGTERM ou Ctrl+C para parar)."
        )
        while not event.is_set():
            try:
                result = run_once(rules, settings=settings)
                echo(format_round(result, short=True))
            except StackError as exc:
                echo(f"Rodada falhou (nova tentativa em {int(interval.total_seconds())} s): {exc}")
            rounds += 1
            if max_rounds is not None and rounds >= max_rounds:
                break
            event.wait(interval.total_seconds())
    echo("Monitoramento parado.")
    return rounds


# --------------------------------------------------------------------------- pt-BR output


def format_evaluation(e: checks.Evaluation) -> str:
    state = checks.STATE_LABELS[e.state] if e.sufficient or e.firing else "não julga"
    return f"  {e.rule.name:<16} {e.version:<8} {state:<10} {e.message}"


def format_round(result: RoundResult, short: bool = False) -> str:
    when = result.at.astimezone(UTC).strftime("%d/%m/%Y %H:%M:%S UTC")
    firing = len(result.firing)
    head = f"{when}: {len(result.evaluations)} regras, {firing} disparada(s)"
    if short:
        extra = [
            f"  {t.transition}: {t.rule} ({t.version}) — {t.message}" for t in result.transitions
        ]
        return "\n".join([head, *extra])
    lines = [head, *(format_evaluation(e) for e in result.evaluations)]
    for t in result.transitions:
        label = "DISPAROU" if t.transition == store.FIRED else "RESOLVIDA"
        lines.append(f"  ↳ {label}: {t.rule} (versão {t.version})")
    if result.written or result.spooled or result.replayed:
        lines.append(
            f"Documentos em {store.INDEX_PATTERN}: {result.written} gravados"
            + (f", {result.replayed} reenviados do spool" if result.replayed else "")
            + (f", {result.spooled} aguardando no spool" if result.spooled else "")
        )
    return "\n".join(lines)


def now_utc() -> datetime:
    return datetime.now(UTC)
