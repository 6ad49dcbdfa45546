"""Benchmark of ``Predictor.predict``: single-row latency next to its floor, the raw estimator.

    .venv/bin/python benchmarks/predictor.py [--calls 5000] [--seed 2017]

Trains and promotes a model in a temporary ``WORKSHOP_HOME`` (the real ``train_and_register``
path), loads it with ``Predictor.load()`` like the service, warms up, then times ``predict`` on a
realistic request mix: random ISO dates from 2024 to 2027, random catalogue products (by
``item_nbr``), 15 % promotions. The floor, ``raw_p50_ms``, is the fitted estimator's ``predict`` on
the same requests' feature rows, built beforehand (no parsing, no lookup); ``predictor_ratio`` =
``p50_ms / raw_p50_ms`` (target ≤ 2). Also times ``predict_batch`` on 1 000 rows. Prints ONE JSON
object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.host import HostMeter  # noqa: E402

TARGET_RATIO = 2.0  # the Predictor within 2x the raw estimator on a ready row


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=2017)
    args = parser.parse_args(argv)
    meter = HostMeter()

    import numpy as np
    import pandas as pd

    from workshop.config import get_settings
    from workshop.dataset import CATALOGUE
    from workshop.modeling import Predictor, train_and_register

    with tempfile.TemporaryDirectory(prefix="bench-predictor-") as home:
        settings = get_settings(home=Path(home))
        trained = train_and_register(
            seed=args.seed, promote=True, settings=settings, progress=False
        )
        started = time.perf_counter()
        predictor = Predictor.load(settings=settings)
        load_ms = (time.perf_counter() - started) * 1000

        rng = np.random.default_rng(0)
        days = pd.date_range("2024-01-01", "2027-12-31").strftime("%Y-%m-%d").tolist()
        items = [p.item_nbr for p in CATALOGUE]
        requests = [
            (days[d], items[i], bool(p))
            for d, i, p in zip(
                rng.integers(0, len(days), args.calls),
                rng.integers(0, len(items), args.calls),
                rng.random(args.calls) < 0.15,
                strict=True,
            )
        ]
        from workshop.dataset import parse_date, resolve_product

        regressor = predictor.model.named_steps["regressor"]
        ready = [
            predictor._featurizer.row(parse_date(d), resolve_product(i), p) for d, i, p in requests
        ]
        for request, row in zip(requests[:200], ready, strict=False):  # warm-up
            predictor.predict(*request)
            regressor.predict(row)
        raw: list[float] = []
        for row in ready:
            t0 = time.perf_counter()
            regressor.predict(row)
            raw.append((time.perf_counter() - t0) * 1000)
        wall: list[float] = []
        reported: list[float] = []
        for request in requests:
            t0 = time.perf_counter()
            result = predictor.predict(*request)
            wall.append((time.perf_counter() - t0) * 1000)
            reported.append(result.latency_ms)

        batch = pd.DataFrame(requests[:1000], columns=["date", "item_nbr", "onpromotion"])
        t0 = time.perf_counter()
        predictor.predict_batch(batch)
        batch_ms = (time.perf_counter() - t0) * 1000

    def pct(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)), 4)

    ratio = pct(wall, 50) / pct(raw, 50)
    return {
        "benchmark": "predictor",
        "calls": args.calls,
        "p50_ms": pct(wall, 50),
        "p90_ms": pct(wall, 90),
        "p99_ms": pct(wall, 99),
        "max_ms": round(max(wall), 4),
        "mean_ms": round(statistics.fmean(wall), 4),
        "reported_latency_p50_ms": pct(reported, 50),
        "batch_1000_rows_ms": round(batch_ms, 2),
        "load_ms": round(load_ms, 1),
        "train_seconds": round(trained.train_seconds, 2),
        "model_version": trained.version,
        "cpu_count": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "raw_p50_ms": pct(raw, 50),
        "raw_p99_ms": pct(raw, 99),
        "predictor_ratio": round(ratio, 3),
        "targets": {
            "predictor_ratio_max": TARGET_RATIO,
            "predictor_ratio_met": ratio <= TARGET_RATIO,
        },
        "python": sys.version.split()[0],
        "host": meter.report(),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
