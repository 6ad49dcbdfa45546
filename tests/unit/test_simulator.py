"""Unit tests of the traffic simulator: the plan and the arguments (the sending is tested against
a local HTTP server in tests/integration/test_simulator.py)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from workshop import dataset
from workshop.errors import ArgumentError, InvalidInputError
from workshop.simulator import check_url, plan_requests, simulate


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


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://service.test", "URL inválida"),
        ("http://", "URL inválida"),
        ("http://service.test:notaport", "URL inválida"),
        ("http://" + "a" * 3000, "URL longa demais"),
    ],
)
def test_a_url_that_cannot_be_the_service_is_refused_in_pt_br(url: str, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        check_url(url)


def test_check_url_keeps_the_address_and_drops_the_trailing_slash() -> None:
    assert check_url("http://localhost:11000/") == "http://localhost:11000"
    assert check_url("https://modelo.example/") == "https://modelo.example"


def test_simulate_refuses_a_bad_concurrency_before_sending_anything() -> None:
    for concurrency in (0, 65, True, 2.5):
        with pytest.raises(InvalidInputError, match="Concorrência"):
            simulate(n=5, concurrency=concurrency, url="http://127.0.0.1:9", progress=False)


def test_summary_reads_seconds_and_rate_in_pt_br() -> None:
    from workshop.simulator import SimulationSummary

    summary = SimulationSummary(
        sent=1500, ok=1500, errors=0, seconds=0.84, rps=1785.7, by_status={"200": 1500}
    )
    assert "Enviadas 1.500 requisições" in str(summary)
    assert "em 0,8 s (1.786 req/s): 1.500 ok, 0 com erro [200: 1500]." in str(summary)


def test_a_request_without_an_answer_says_which_kind_in_pt_br() -> None:
    from workshop.simulator import TIMEOUT_SECONDS, _no_answer

    assert _no_answer(TimeoutError("timed out")) == (
        f"sem resposta em {TIMEOUT_SECONDS:g} s (TimeoutError)"
    )
    refused = _no_answer(ConnectionRefusedError(111, "Connection refused"))
    assert refused == "sem conexão (ConnectionRefusedError: [Errno 111] Connection refused)"
