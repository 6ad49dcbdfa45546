"""The :11000 web form in Chromium: pick a date and a product, click Enviar, see the prediction,
and find its event in the (embedded) search engine."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import find_event
from workshop.config import Settings
from workshop.dataset import CATALOGUE
from workshop.service_process import ServiceProcess

pytestmark = pytest.mark.browser


def test_form_predicts_and_the_event_reaches_the_engine(
    page: Any, trained_settings: Settings, es: Any
) -> None:
    product = CATALOGUE[4]
    env = {"WORKSHOP_HOME": str(trained_settings.home)}
    with ServiceProcess(settings=trained_settings, env=env) as server:
        page.goto(server.url + "/")
        assert page.title().startswith("Previsão de vendas")
        page.fill("#date", "2026-02-14")
        page.select_option("#item_nbr", value=product.item_nbr)
        page.check("#onpromotion")
        page.get_by_role("button", name="Enviar").click()

        page.wait_for_selector("#resultado")
        prediction = page.text_content("#prediction") or ""
        assert re.fullmatch(r"[\d.]+,\d", prediction.strip()), prediction  # one decimal, pt-BR
        assert page.text_content("#model-version") == "v1"
        prediction_id = (page.text_content("#prediction-id") or "").strip()
        assert re.fullmatch(r"[0-9a-f-]{36}", prediction_id)
        # the form keeps the question
        assert page.input_value("#date") == "2026-02-14"
        assert page.input_value("#item_nbr") == product.item_nbr
        assert page.is_checked("#onpromotion")

        doc = find_event(es, prediction_id)
        assert doc is not None, "the prediction event did not reach the engine"
        assert (doc["channel"], doc["item_nbr"], doc["date"], doc["onpromotion"]) == (
            "http",
            product.item_nbr,
            "2026-02-14",
            True,
        )
        assert doc["model_version"] == "v1"

        # a bad date comes back inline, in pt-BR, without a prediction (no JS validation:
        # the browser's date input cannot send this, so submit the form programmatically)
        page.evaluate(
            "() => { const d = document.querySelector('#date'); d.type = 'text';"
            " d.value = '2026-02-30'; document.querySelector('form').submit(); }"
        )
        page.wait_for_selector("#erro")
        assert "Data inexistente" in (page.text_content("#erro") or "")
        assert page.query_selector("#resultado") is None
