"""One trained model shared by the modeling tests (training takes seconds)."""

from __future__ import annotations

import pandas as pd
import pytest

from workshop.modeling import train_model


@pytest.fixture(scope="session")
def trained() -> tuple[object, dict, pd.DataFrame]:
    return train_model(progress=False)
