"""``jsonl``: one JSON line per event in ``$WORKSHOP_HOME/events/events.jsonl`` (offline)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from workshop.config import Settings, get_settings
from workshop.events.schema import Document
from workshop.events.transports.base import SendResult


class JsonlTransport:
    """Appends one JSON line per event to a file (offline exercises)."""

    name = "jsonl"

    def __init__(self, settings: Settings | None = None, *, path: Path | None = None) -> None:
        settings = settings or get_settings()
        self.path = path or settings.home_dir / "events" / "events.jsonl"

    def send(self, docs: list[Document]) -> SendResult:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            data = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, TypeError, ValueError) as exc:
            return SendResult(retry=list(docs), error=f"{type(exc).__name__}: {exc}")
        return SendResult(delivered=len(docs))

    def close(self) -> None:
        return None
