"""Unit tests of workshop.modeling.predictor: single rows equal the pipeline, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workshop.config import get_settings
from workshop.errors import InvalidInputError
from workshop.modeling import (
    Predictor,
)


def test_predictor_single_rows_equal_the_pipeline(trained: tuple) -> None:
    model, card, _ = trained
    predictor = Predictor(model, "v1", card)
    frame = pd.DataFrame(
        {
            "date": ["2026-01-03", "2026-03-15", "2025-12-24", "2030-06-01"],
            "item_nbr": ["103520", "114790", "165718", "153239"],
            "onpromotion": [True, False, False, True],
        }
    )
    batch = predictor.predict_batch(frame)
    np.testing.assert_allclose(batch["prediction"], model.predict(frame))  # type: ignore[attr-defined]
    assert (batch["model_version"] == "v1").all()
    for row, expected in zip(frame.itertuples(), batch["prediction"], strict=True):
        result = predictor.predict(row.date, row.item_nbr, row.onpromotion)
        assert result.prediction == pytest.approx(expected, rel=1e-12)
        assert result.model_version == "v1" and result.latency_ms > 0
    by_name = predictor.predict_batch(
        pd.DataFrame({"date": ["2026-01-03"], "product": ["Leite integral 1L"], "onpromotion": [1]})
    )
    assert by_name["prediction"].iloc[0] == pytest.approx(batch["prediction"].iloc[0])
    # Promotion raises the forecast; Saturday beats Monday.
    assert (
        predictor.predict("2026-03-07", "103520", True).prediction
        > predictor.predict("2026-03-07", "103520", False).prediction
    )
    assert (
        predictor.predict("2026-03-07", "103520", False).prediction
        > predictor.predict("2026-03-09", "103520", False).prediction
    )


@pytest.mark.parametrize(
    ("day", "item", "message"),
    [
        ("2026-02-30", "103520", "Data inexistente"),
        ("30/01/2026", "103520", "Data inválida"),
        ("1850-01-01", "103520", "fora do intervalo"),
        ("2026-01-10", "999", "Produto desconhecido"),
        ("2026-01-10", "Caviar", "Produto desconhecido"),
    ],
)
def test_predictor_rejects_bad_input(trained: tuple, day: str, item: str, message: str) -> None:
    model, card, _ = trained
    predictor = Predictor(model, "v1", card)
    with pytest.raises(InvalidInputError, match=message):
        predictor.predict(day, item, False)


def test_predictor_load_without_models(tmp_path) -> None:
    from workshop.errors import ModelNotFoundError

    settings = get_settings(home=tmp_path)
    with pytest.raises(ModelNotFoundError) as info:
        Predictor.load(settings=settings)
    assert str(info.value) == "Nenhum modelo treinado — execute o notebook 01 ou `workshop train`"
