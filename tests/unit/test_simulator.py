"""Unit tests of the traffic simulator (HTTP replaced by httpx.MockTransport)."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from workshop import dataset
from workshop.errors import InvalidInputError, StackError
from workshop.simulator import plan_requests, simulate


class FakeService:
    """A model service stand-in that records what it receives."""

    def __init__(self, fail_every: int = 0) -> None:
        self.requests: list[tuple[dict[str, Any], httpx.Headers]] = []
        self.fail_every = fail_every
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"ok": True, "model_loaded": True})
        assert request.method == "POST" and request.url.path == "/api/predict"
        body = json.loads(request.content)
        with self.lock:
            self.requests.append((body, request.headers))
            number = len(self.requests)
        if self.fail_every and number % self.fail_every == 0:
            return httpx.Response(503, json={"detail": "sem modelo"})
        return httpx.Response(200, json={"prediction": 1.0, "prediction_id": str(uuid.uuid4())})


def test_plan_is_reproducible_and_covers_the_range() -> None:
    first = plan_requests(3000, start="2025-03-03", days=14, seed=7)
    assert first == plan_requests(3000, start="2025-03-03", days=14, seed=7)
    assert first != plan_requests(3000, start="2025-03-03", days=14, seed=8)
    days = Counter(b["date"] for b in first)
    expected = {(dt.date(2025, 3, 3) + dt.timedelta(d)).isoformat() for d in range(14)}
    assert set(days) == expected
    assert min(days.values()) > 3000 / 14 * 0.7  # spread evenly, not bunched
    products = Counter(b["item_nbr"] for b in first)
    assert set(products) == {p.item_nbr for p in dataset.CATALOGUE}  # the whole catalogue
    # default mix = the training history's (every product equally often)
    assert max(products.values()) / min(products.values()) < 1.6
    # default promotions follow the store's calendar: 10–20 % of the weeks per product
    share = sum(b["onpromotion"] for b in first) / len(first)
    assert 0.05 < share < 0.3


def test_family_weights_and_promotion_rate_create_drift() -> None:
    plan = plan_requests(
        4000, seed=1, family_weights={"BEBIDAS": 6, "LIMPEZA": 0}, promotion_rate=0.6
    )
    families = Counter(dataset.product_by_item(b["item_nbr"]).family for b in plan)
    assert "LIMPEZA" not in families
    assert families["BEBIDAS"] > 3 * families["MERCEARIA"]
    assert 0.55 < sum(b["onpromotion"] for b in plan) / len(plan) < 0.65


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "Número de requisições"),
        ({"days": 0}, "Número de dias"),
        ({"promotion_rate": 1.5}, "Taxa de promoção"),
        ({"family_weights": {"ELETRÔNICOS": 1}}, "Família desconhecida"),
        ({"family_weights": {"BEBIDAS": -1}}, "Peso inválido"),
        ({"family_weights": dict.fromkeys(dataset.FAMILIES, 0)}, "Pelo menos uma família"),
        ({"start": "2025-13-01"}, "[Dd]ata"),
    ],
)
def test_bad_plan_arguments_raise_pt_br(kwargs: dict[str, Any], message: str) -> None:
    args = {"n": 10, **kwargs}
    with pytest.raises(InvalidInputError, match=message):
        plan_requests(**args)


def test_simulate_sends_every_request_with_the_channel_header() -> None:
    service = FakeService(fail_every=10)
    summary = simulate(
        n=200,
        concurrency=4,
        start="2025-06-01",
        days=7,
        url="http://service.test",
        seed=3,
        progress=False,
        transport=httpx.MockTransport(service),
    )
    assert (summary.sent, summary.ok, summary.errors) == (200, 180, 20)
    assert summary.by_status == {"200": 180, "503": 20}
    assert len(summary.prediction_ids) == 180 and len(set(summary.prediction_ids)) == 180
    assert summary.rps > 0 and summary.seconds > 0
    assert summary.first_error and "503" in summary.first_error
    bodies = [body for body, _ in service.requests]
    assert sorted(bodies, key=json.dumps) == sorted(
        plan_requests(200, start="2025-06-01", days=7, seed=3), key=json.dumps
    )
    assert {h["x-workshop-channel"] for _, h in service.requests} == {"simulator"}
    text = str(summary)
    assert "180 ok" in text and "20 com erro" in text and "req/s" in text
    assert summary.as_dict().keys() >= {"sent", "ok", "errors", "seconds", "rps", "by_status"}


def test_simulate_counts_connection_errors() -> None:
    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return httpx.Response(200, json={"ok": True, "model_loaded": True})
        raise httpx.ConnectError("recusada", request=request)

    summary = simulate(
        n=5, url="http://service.test", progress=False, transport=httpx.MockTransport(flaky)
    )
    assert summary.ok == 0 and summary.by_status == {"sem resposta": 5}


def test_simulate_without_service_or_model_says_what_to_do() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("recusada", request=request)

    with pytest.raises(StackError, match="workshop serve"):
        simulate(n=5, url="http://x.test", progress=False, transport=httpx.MockTransport(down))

    def no_model(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"ok": False, "model_loaded": False})

    with pytest.raises(StackError, match="sem modelo"):
        simulate(n=5, url="http://x.test", progress=False, transport=httpx.MockTransport(no_model))
    with pytest.raises(InvalidInputError, match="Concorrência"):
        simulate(n=5, concurrency=0, url="http://x.test", progress=False)


def test_summary_reads_seconds_and_rate_in_pt_br() -> None:
    from workshop.simulator import SimulationSummary

    summary = SimulationSummary(
        sent=1500, ok=1500, errors=0, seconds=0.84, rps=1785.7, by_status={"200": 1500}
    )
    assert "Enviadas 1.500 requisições" in str(summary)
    assert "em 0,8 s (1.786 req/s): 1.500 ok, 0 com erro [200: 1500]." in str(summary)
