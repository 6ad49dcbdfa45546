"""The notebook's widget form (workshop.widgets): same path as the service, channel ``widget``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import pytest

from tests.integration.service.test_app import SpyLogger, register_copy, trained_home
from workshop.config import Settings
from workshop.dataset import CATALOGUE
from workshop.events import EventLogger
from workshop.widgets import PredictionForm, prediction_form


@pytest.fixture(scope="module")
def settings(stack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return trained_home(tmp_path_factory, "widget-home")


@pytest.fixture()
def spy(settings: Settings) -> Iterator[SpyLogger]:
    logger = EventLogger.from_settings(settings)
    yield SpyLogger(logger)
    logger.close()


@pytest.fixture()
def form(settings: Settings, spy: SpyLogger) -> PredictionForm:
    return prediction_form(settings, spy, day=date(2026, 1, 15))


def test_the_form_has_the_fields_in_pt_br(form: PredictionForm) -> None:
    assert form.date.description == "Data" and form.date.value == date(2026, 1, 15)
    assert form.product.description == "Produto"
    assert [value for _, value in form.product.options] == [p.item_nbr for p in CATALOGUE]
    assert form.promotion.description == "Em promoção" and form.promotion.value is False
    assert form.button.description == "Prever"
    assert form.output.value == ""
    assert form.widget.children[-1] is form.output
    assert "application/vnd.jupyter.widget-view+json" in form._repr_mimebundle_()


def test_click_predicts_shows_and_logs_one_widget_event(
    form: PredictionForm, spy: SpyLogger
) -> None:
    form.product.value = CATALOGUE[5].item_nbr
    form.promotion.value = True
    form.click()
    result = form.last_result
    assert form.last_error is None and result is not None
    assert (result["item_nbr"], result["date"], result["onpromotion"]) == (
        CATALOGUE[5].item_nbr,
        "2026-01-15",
        True,
    )
    assert result["model_version"] == "v1"
    assert len(spy.events) == 1
    doc = spy.events[0]
    assert doc["channel"] == "widget" and doc["prediction_id"] == result["prediction_id"]
    shown = form.output.value
    assert "Previsão:" in shown and result["prediction_id"] in shown and ">v1<" in shown
    assert not form.button.disabled


def test_errors_show_in_pt_br_and_log_nothing(form: PredictionForm, spy: SpyLogger) -> None:
    form.date.value = None
    form.click()
    assert form.last_result is None
    assert form.last_error == "Escolha uma data no campo “Data”."
    assert "Erro:" in form.output.value and "Escolha uma data" in form.output.value

    # Issue 13: the picker used to clamp 1900 / 9999 to its limits silently and predict. The
    # date stays as typed and is refused, in pt-BR, with nothing logged.
    for typed in (date(1900, 1, 1), date(2100, 12, 31), date(9999, 12, 31)):
        form.date.value = typed
        form.click()
        assert form.date.value == typed
        assert form.last_result is None
        assert form.last_error and "fora do horizonte do modelo" in form.last_error

    form.date.value = date(2026, 1, 15)
    form.product.value = None
    form.click()
    assert form.last_error == "Escolha um produto na lista."
    assert "Escolha um produto" in form.output.value
    assert spy.events == []


def test_a_newly_promoted_version_answers_the_next_click(
    form: PredictionForm, settings: Settings
) -> None:
    form.click()
    assert form.last_result is not None and form.last_result["model_version"] == "v1"
    version = register_copy(settings)
    time.sleep(1.1)  # the form re-reads the production pointer at most once a second
    form.click()
    assert form.last_result is not None and form.last_result["model_version"] == version
