"""``jsonl``: one JSON line per event in ``$WORKSHOP_HOME/events/events.jsonl`` (offline)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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
            data = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode()
        except (TypeError, ValueError) as exc:
            return SendResult(retry=list(docs), error=f"{type(exc).__name__}: {exc}")
        return self._append(data, docs)

    def send_lines(self, lines: list[bytes]) -> SendResult:
        """The journal's lines as they are (each one already a JSON document and a newline)."""
        return self._append(b"".join(lines), lines)

    def _append(self, data: bytes, batch: list[Any]) -> SendResult:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            return SendResult(retry=list(batch), error=f"{type(exc).__name__}: {exc}")
        return SendResult(delivered=len(batch))

    def close(self) -> None:
        return None
