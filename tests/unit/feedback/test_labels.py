"""feedback.labels: the stored error terms and the bulk partial updates of labelling."""

from __future__ import annotations

import numpy as np
import pytest

from workshop import dataset, modeling
from workshop.feedback import labels
from workshop.feedback.scenario import Scenario
from workshop.modeling.metrics import PERISHABLE_WEIGHT

MILK = dataset.product_by_name("Leite integral 1L")


def test_stored_error_terms_reproduce_nwrmsle() -> None:
    rng = np.random.default_rng(1)
    pred = rng.uniform(0, 200, 500)
    actual = rng.integers(0, 200, 500).astype(float)
    perishable = rng.integers(0, 2, 500).astype(bool)
    sq = labels.sq_log_error(pred, actual)
    w = labels.error_weight(perishable)
    from_terms = np.sqrt(np.sum(sq * w) / np.sum(w))
    assert from_terms == pytest.approx(modeling.nwrmsle(actual, pred, perishable), rel=1e-12)


def test_label_actions_are_partial_updates_with_the_worlds_actuals() -> None:
    scenario = Scenario()
    hits = [
        {
            "_index": "model-2026.01.20",
            "_id": f"id{i}",
            "_source": {"date": d, "item_nbr": MILK.item_nbr, "onpromotion": p, "prediction": 50},
        }
        for i, (d, p) in enumerate([("2026-01-20", False), ("2025-12-20", True)])
    ]
    hits.append({"_index": "x", "_id": "bad", "_source": {"date": "2026-01-20", "item_nbr": "1"}})
    actions, unknown = labels._label_actions(hits, regime=scenario.regime, seed=scenario.seed)
    assert unknown == 1
    assert {a["_op_type"] for a in actions} == {"update"}
    assert all("script" not in a and set(a["doc"]) == set(labels.LABEL_FIELDS) for a in actions)
    for action, (d, p) in zip(actions, [("2026-01-20", False), ("2025-12-20", True)], strict=True):
        truth = dataset.actuals(d, MILK.item_nbr, p, seed=scenario.seed, regime=scenario.regime)
        assert action["doc"]["actual"] == pytest.approx(truth)
        assert action["doc"]["abs_error"] == pytest.approx(abs(50 - truth))
        assert action["doc"]["error_weight"] == PERISHABLE_WEIGHT


def test_summary_reads_the_reference_day_and_counts_in_pt_br() -> None:
    from datetime import date

    result = labels.LabelResult(
        as_of=date(2026, 2, 9), labelled=12345, skipped_future=0, already_labelled=2
    )
    assert result.summary().startswith(
        "Rotulagem com data de referência 09/02/2026: 12.345 eventos rotulados agora"
    )
    assert "2026-02-09" not in result.summary()
