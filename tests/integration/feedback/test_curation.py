"""feedback.curation against the embedded engine: curated rows from labelled events."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from elasticsearch import helpers

from tests.integration.feedback.conftest import AS_OF, SCENARIO, make_events
from workshop import dataset
from workshop.feedback import curation, labels


def test_curation_from_elasticsearch(es, prefix) -> None:
    docs = make_events(prefix, 200, start=date(2026, 1, 1), days=50)
    # the same question asked many times
    for i in range(1, 30):
        docs[i]["_source"].update({k: docs[0]["_source"][k] for k in labels.KEY})
        docs[i]["_source"]["date"] = "2026-01-07"
    docs[0]["_source"]["date"] = "2026-01-07"
    helpers.bulk(es, docs, refresh=True)
    labels.label_events(as_of=AS_OF, scenario=SCENARIO, es=es)
    curated = curation.curate(curation.fetch_events(labelled_only=False, es=es), as_of=AS_OF)
    rows = curated.rows
    assert not rows.duplicated(subset=labels.KEY).any()
    assert curated.duplicates >= 29
    assert (rows["date"] < pd.Timestamp(AS_OF)).all()
    assert curated.future == sum(1 for d in docs if d["_source"]["date"] >= AS_OF.isoformat())
    assert curated.unlabelled == 0
    truth = dataset.actuals_frame(rows, seed=SCENARIO.seed, regime=SCENARIO.regime)
    assert np.allclose(rows["unit_sales"], truth)
    predictions = {d["_source"]["prediction"] for d in docs}
    assert not set(rows["unit_sales"]) & predictions
