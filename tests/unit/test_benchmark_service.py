"""The arithmetic of ``benchmarks/service.py``: what its ratios are made of, without a server."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_service", ROOT / "benchmarks/service.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _window(p50: float, requests: int, noop: float | None = None) -> dict[str, Any]:
    latencies = {"/api/predict": [p50 - 0.01, p50, p50 + 0.01]}
    if noop is not None:
        latencies["/bench/noop"] = [noop, noop, noop]
    return {
        "latencies": latencies,
        "model_ms": [0.05, 0.05, 0.05],
        "seconds": 2.0,
        "requests": requests,
        "client_cpu_per_request": 60e-6,
    }


def test_each_ratio_is_the_median_of_its_rounds(bench: ModuleType) -> None:
    # round 2 is a host hiccup in the logging windows: the median leaves it out, pooling not
    logging_p50 = [0.44, 0.80, 0.42]
    logging_rps = [4000, 2000, 4200]
    results = {
        ("logging", 1): [_window(p, 100) for p in logging_p50],
        ("no_logging", 1): [_window(0.40, 100) for _ in range(3)],
        ("paired", 1): [_window(0.40, 100, noop=0.30) for _ in range(3)],
        ("logging", 16): [_window(7.0, r) for r in logging_rps],
        ("no_logging", 16): [_window(6.0, 4400) for _ in range(3)],
    }
    out = bench.summarise(results)
    assert out["rounds_logging_overhead_ratio"] == [1.1, 2.0, 1.05]
    assert out["logging_overhead_ratio"] == 1.1
    assert out["pooled_logging_overhead_ratio"] == 1.1  # the pooled p50 is a median too
    assert out["rounds_throughput_ratio_c16"] == [1.1, 2.2, round(4400 / 4200, 3)]
    assert out["throughput_ratio_c16"] == 1.1
    assert out["pooled_throughput_ratio_c16"] == round(4400 * 3 / sum(logging_rps), 3)
    # the paired window: /api/predict over (no-op + the model's own time), same conditions
    assert out["framework_ratio"] == round(0.40 / (0.30 + 0.05), 3)
    assert out["p50_ms_noop"] == 0.3 and out["p50_ms_paired"] == 0.4
    assert out["rps_c16_no_logging"] == 2200.0  # requests / seconds of the kept windows


def test_the_client_parses_a_response_only_when_it_is_whole(bench: ModuleType) -> None:
    answer = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
    body = b'{"ok":true}'
    assert bench._parse_response(answer) is None
    assert bench._parse_response(answer + body[:5]) is None
    assert bench._parse_response(answer + body + b"HTTP/1.1") == (200, body, b"HTTP/1.1")
