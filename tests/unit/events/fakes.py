"""Fakes shared by the events unit tests: a product, an event factory, a switchable transport."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from workshop import events as ev


@dataclass(frozen=True)
class FakeProduct:
    item_nbr: str = "103520"
    product: str = "Leite integral 1L"
    family: str = "LATICÍNIOS"


def make_event(**overrides: Any) -> ev.PredictionEvent:
    kwargs: dict[str, Any] = {
        "prediction": 4.5,
        "model_version": "v1",
        "channel": "http",
        "date": "2025-03-01",
        "product": FakeProduct(),
        "onpromotion": True,
        "latency_ms": 1.25,
    }
    kwargs.update(overrides)
    return ev.PredictionEvent.create(**kwargs)


class FakeTransport:
    """In-memory transport that can be switched down; records every delivered document."""

    name = "fake"

    def __init__(self) -> None:
        self.up = True
        self.delivered: list[dict[str, Any]] = []
        self.batches: list[list[dict[str, Any]]] = []  # each delivered call's documents
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()

    def send(self, docs: list[dict[str, Any]]) -> ev.SendResult:
        self.gate.wait()
        with self.lock:
            self.calls += 1
            if not self.up:
                return ev.SendResult(retry=list(docs), error="ConnectionError: down")
            self.delivered.extend(docs)
            self.batches.append(list(docs))
            return ev.SendResult(delivered=len(docs))

    def close(self) -> None:
        return None

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(d["prediction_id"] for d in self.delivered)


class FakeLineTransport(FakeTransport):
    """A :class:`FakeTransport` that also takes the journal's lines (``send_lines``)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[bytes] = []

    def send_lines(self, lines: list[bytes]) -> ev.SendResult:
        self.gate.wait()
        with self.lock:
            self.calls += 1
            if not self.up:
                return ev.SendResult(retry=list(lines), error="ConnectionError: down")
            self.lines.extend(lines)
            self.delivered.extend(json.loads(line) for line in lines)
            return ev.SendResult(delivered=len(lines))
