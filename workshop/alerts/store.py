"""The checks' documents in ``monitoring-YYYY.MM.DD``: evaluations, alert state changes, spool.

Two kinds of documents, typed by ``infra/elasticsearch/monitoring-template.json`` (installed with
the ``model-*`` one by ``workshop setup`` / :func:`workshop.stack.install_template`):

* ``kind: check`` — one per rule and evaluation: rule, version, window, value, threshold, n,
  state ``ok``/``firing``. Its ``_id`` is ``<rule>-<version>-<slot>``, the slot being the
  evaluation time floored to the minute: a rerun in the same minute overwrites the document with
  fresher figures instead of adding a second one.
* ``kind: alert`` — one per state change of a (rule, version): ``transition`` ``firing`` (ok →
  firing) or ``resolved`` (firing → ok, or the version left production). Same deterministic ids.

When Elasticsearch refuses or does not answer, the documents wait in a JSON-lines spool under
``$WORKSHOP_HOME/spool/monitoring/`` and are sent first at the next run; resending is harmless
because the ids are deterministic. So an engine restart between two runs loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workshop.alerts.checks import FIRING, OK, Evaluation
from workshop.config import Settings, get_settings

INDEX_PREFIX = "monitoring"
INDEX_PATTERN = f"{INDEX_PREFIX}-*"
SLOT = timedelta(minutes=1)
CHECK = "check"
ALERT = "alert"
FIRED = "firing"
RESOLVED = "resolved"


def index_for(moment: datetime) -> str:
    """``monitoring-YYYY.MM.DD`` of a moment (UTC), like Fluentd's ``logstash_format``."""
    return f"{INDEX_PREFIX}-{moment.astimezone(UTC):%Y.%m.%d}"


def slot_of(moment: datetime, slot: timedelta = SLOT) -> datetime:
    """The moment floored to the evaluation slot (one minute)."""
    moment = moment.astimezone(UTC)
    seconds = int(slot.total_seconds())
    epoch = int(moment.timestamp()) // seconds * seconds
    return datetime.fromtimestamp(epoch, tz=UTC)


def evaluation_id(rule: str, version: str, moment: datetime) -> str:
    """Deterministic ``_id``: the same rule, version and minute always give the same id."""
    return f"{rule}-{version}-{slot_of(moment):%Y%m%dT%H%MZ}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Transition:
    """A state change of one (rule, version)."""

    rule: str
    version: str
    transition: str  # "firing" | "resolved"
    message: str


def documents(
    evaluations: Iterable[Evaluation],
    previous: dict[tuple[str, str], str],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[Transition]]:
    """Bulk actions for one round, and the state changes it contains.

    ``previous`` maps (rule, version) → last known state (from :func:`current_states`). A
    (rule, version) that was firing and was not evaluated this round (its version left
    production) is resolved.
    """
    evaluations = list(evaluations)
    index = index_for(now)
    actions: list[dict[str, Any]] = []
    transitions: list[Transition] = []
    evaluated_rules = {e.rule.name for e in evaluations}
    seen: set[tuple[str, str]] = set()

    def alert(e_rule: str, version: str, kind: str, source: dict[str, Any]) -> None:
        _id = f"{evaluation_id(e_rule, version, now)}-{kind}"
        actions.append({"_op_type": "index", "_index": index, "_id": _id, "_source": source})

    for e in evaluations:
        key = (e.rule.name, e.version)
        seen.add(key)
        _id = evaluation_id(e.rule.name, e.version, now)
        source = {"@timestamp": _iso(now), "kind": CHECK, "evaluation_id": _id, **e.to_dict()}
        actions.append({"_op_type": "index", "_index": index, "_id": _id, "_source": source})
        before = previous.get(key, OK)
        if before != e.state:
            kind = FIRED if e.state == FIRING else RESOLVED
            message = (
                f"{e.rule.description} {e.message}" if kind == FIRED else f"Resolvida: {e.message}"
            )
            transitions.append(Transition(e.rule.name, e.version, kind, message))
            alert(
                e.rule.name,
                e.version,
                kind,
                {
                    **source,
                    "kind": ALERT,
                    "transition": kind,
                    "previous_state": before,
                    "message": message,
                },
            )
    for (rule, version), state in sorted(previous.items()):
        if state != FIRING or (rule, version) in seen or rule not in evaluated_rules:
            continue
        current = next((e.version for e in evaluations if e.rule.name == rule), "?")
        message = f"Resolvida: a versão {version} saiu de produção (agora: {current})."
        transitions.append(Transition(rule, version, RESOLVED, message))
        alert(
            rule,
            version,
            RESOLVED,
            {
                "@timestamp": _iso(now),
                "kind": ALERT,
                "rule": rule,
                "version": version,
                "state": OK,
                "previous_state": FIRING,
                "transition": RESOLVED,
                "evaluation_id": evaluation_id(rule, version, now),
                "message": message,
            },
        )
    return actions, transitions


def current_states(es: Any) -> dict[tuple[str, str], str]:
    """The last known state of every (rule, version): its latest alert document's state."""
    with contextlib.suppress(Exception):
        es.indices.refresh(index=INDEX_PATTERN, ignore_unavailable=True, allow_no_indices=True)
    resp: Any = es.search(
        index=INDEX_PATTERN,
        query={"term": {"kind": ALERT}},
        sort=[{"@timestamp": "desc"}],
        size=1000,
        source=["rule", "version", "state", "@timestamp"],
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    states: dict[tuple[str, str], str] = {}
    for hit in resp["hits"]["hits"]:
        doc = hit["_source"]
        key = (str(doc.get("rule")), str(doc.get("version")))
        states.setdefault(key, str(doc.get("state", OK)))  # newest first: keep the first
    return states


# --------------------------------------------------------------------------- writing + spool


class Spool:
    """Documents that could not be written yet, one JSON bulk action per line."""

    def __init__(self, settings: Settings | None = None, path: Path | None = None) -> None:
        settings = settings or get_settings()
        self.path = path or settings.spool_dir / "monitoring" / "pending.jsonl"

    def add(self, actions: list[dict[str, Any]]) -> None:
        if not actions:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for action in actions:
                fh.write(json.dumps(action, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self.read())


def _bulk(es: Any, actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Write ``actions``; return those that failed (all of them when the engine is away)."""
    from elasticsearch import helpers

    if not actions:
        return []
    try:
        _, errors = helpers.bulk(es, actions, raise_on_error=False, raise_on_exception=False)
    except Exception:  # connection refused, timeout: nothing was confirmed
        return list(actions)
    if not errors:
        with contextlib.suppress(Exception):
            es.indices.refresh(index=INDEX_PATTERN, ignore_unavailable=True)
        return []
    failed_ids = {next(iter(err.values())).get("_id") for err in errors if isinstance(err, dict)}
    return [a for a in actions if a["_id"] in failed_ids] or list(actions)


@dataclass
class WriteResult:
    written: int
    spooled: int
    replayed: int


def write(es: Any, actions: list[dict[str, Any]], spool: Spool) -> WriteResult:
    """Send what the spool holds, then ``actions``; whatever fails goes (back) to the spool."""
    return _send(es, actions, spool)


def _send(es: Any, actions: list[dict[str, Any]], spool: Spool) -> WriteResult:
    pending = spool.read()
    failed_old = _bulk(es, pending)
    replayed = len(pending) - len(failed_old)
    failed_new = _bulk(es, actions) if not failed_old else list(actions)
    spool.clear()
    spool.add(failed_old + failed_new)
    return WriteResult(
        written=len(actions) - len(failed_new),
        spooled=len(failed_old) + len(failed_new),
        replayed=replayed,
    )


def replay(es: Any, spool: Spool) -> WriteResult:
    """Send what the spool holds (before reading states, so spooled alerts count)."""
    return _send(es, [], spool)
