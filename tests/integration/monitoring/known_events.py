"""Seeded, known prediction events for the monitoring tests, and the same rows in pandas.

Three UTC days in 2033 (plus one shifted day in April 2033), so nothing else in the session's
``model-*`` indices falls in the windows used here. Every answer of ``workshop.monitoring`` is
compared with pandas on these rows. Also used by ``tests/integration/test_monitoring_cli.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

START = datetime(2033, 3, 1, tzinfo=UTC)
END = datetime(2033, 3, 4, tzinfo=UTC)
SHIFTED_START = datetime(2033, 4, 1, tzinfo=UTC)
SHIFTED_END = datetime(2033, 4, 2, tzinfo=UTC)
PRODUCTS = {  # item_nbr: (product, family)
    "100001": ("Leite integral 1L", "LATICÍNIOS"),
    "100002": ("Queijo muçarela 500g", "LATICÍNIOS"),
    "100003": ("Sabão em pó 1kg", "LIMPEZA"),
    "100004": ("Detergente 500ml", "LIMPEZA"),
    "100005": ("Pão francês kg", "PADARIA"),
    "100006": ("Banana prata kg", "HORTIFRÚTI"),
}
BIN_EDGES = [0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0]


def make_events(
    n: int,
    start: datetime,
    end: datetime,
    *,
    seed: int,
    weights: list[float] | None = None,
    promo_rate: float = 0.2,
    shift: float = 0.0,
    prefix: str = "mon",
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    items = list(PRODUCTS)
    p = None if weights is None else np.asarray(weights) / np.sum(weights)
    span_ms = int((end - start).total_seconds() * 1000)
    offsets = np.sort(rng.integers(0, span_ms, size=n))
    chosen = rng.choice(items, size=n, p=p)
    frame = pd.DataFrame(
        {
            "@timestamp": [start + timedelta(milliseconds=int(o)) for o in offsets],
            "prediction_id": [f"{prefix}-{seed}-{i:06d}" for i in range(n)],
            "model_version": rng.choice(["v1", "v2"], size=n, p=[0.7, 0.3]),
            "channel": rng.choice(["http", "simulator", "widget", "batch"], size=n),
            "date": [
                (datetime(2026, 1, 1) + timedelta(days=int(d))).date()
                for d in rng.integers(0, 120, size=n)
            ],
            "item_nbr": chosen,
            "product": [PRODUCTS[i][0] for i in chosen],
            "family": [PRODUCTS[i][1] for i in chosen],
            "onpromotion": rng.random(n) < promo_rate,
            "prediction": np.round(rng.lognormal(2.2 + shift, 0.5, size=n), 4),
            "latency_ms": np.round(rng.gamma(2.0, 0.8, size=n), 4),
        }
    )
    return frame


def to_actions(frame: pd.DataFrame) -> list[dict]:
    actions = []
    for row in frame.to_dict("records"):
        ts: datetime = row["@timestamp"]
        source = {
            **row,
            "@timestamp": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "date": row["date"].isoformat(),
            "onpromotion": bool(row["onpromotion"]),
            "prediction": float(row["prediction"]),
            "latency_ms": float(row["latency_ms"]),
        }
        actions.append(
            {
                "_index": f"model-{ts:%Y.%m.%d}",
                "_id": row["prediction_id"],
                "_source": source,
            }
        )
    return actions


def pandas_profile(frame: pd.DataFrame, edges: list[float]) -> dict:
    """The registry card's profile shape, computed with pandas from known rows."""
    weekday = pd.to_datetime(frame["date"]).dt.day_of_week.value_counts(normalize=True)
    clipped = frame["prediction"].astype("float32").clip(edges[0], np.nextafter(edges[-1], 0))
    bins = pd.cut(clipped, edges, right=False).value_counts(normalize=True, sort=False)
    return {
        "product_share": frame["item_nbr"].value_counts(normalize=True).to_dict(),
        "family_share": frame["family"].value_counts(normalize=True).to_dict(),
        "weekday_share": {str(k): float(v) for k, v in weekday.items()},
        "promotion_rate": float(frame["onpromotion"].mean()),
        "prediction_bins": edges,
        "prediction_share": [float(v) for v in bins],
        "prediction_sample": frame["prediction"].tolist(),
    }
