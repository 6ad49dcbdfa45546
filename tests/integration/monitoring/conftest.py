"""The known events of :mod:`tests.integration.monitoring.known_events`, in the engine.

Module-scoped: every test module that uses them inserts them and deletes them at its end, as
before the split, so no other module (e.g. the newest-first check of ``latest_events``) sees
events dated 2033.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from elasticsearch import helpers

from tests.integration.monitoring.known_events import (
    END,
    SHIFTED_END,
    SHIFTED_START,
    START,
    make_events,
    to_actions,
)


@pytest.fixture(scope="module")
def known(es) -> Iterator[pd.DataFrame]:
    es.indices.delete(index="model-2033.*", ignore_unavailable=True)
    frame = make_events(3_000, START, END, seed=6, weights=[5, 3, 2, 2, 1, 1])
    helpers.bulk(es, to_actions(frame), refresh=True)
    yield frame
    es.indices.delete(index="model-2033.*", ignore_unavailable=True)


@pytest.fixture(scope="module")
def shifted(es, known) -> pd.DataFrame:
    """Same products, but one family over-asked, many promotions, higher predictions."""
    frame = make_events(
        2_000,
        SHIFTED_START,
        SHIFTED_END,
        seed=7,
        weights=[1, 1, 12, 12, 1, 1],
        promo_rate=0.7,
        shift=0.8,
    )
    helpers.bulk(es, to_actions(frame), refresh=True)
    return frame
