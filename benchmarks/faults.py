"""Fault probe of the event path: is every answered prediction indexed, whatever happens?

    .venv/bin/python benchmarks/faults.py [--requests 2000] [--concurrency 8] [--cases ...]

Starts a private embedded engine (osmem-server on a free 127.0.0.1 port, temporary
``WORKSHOP_HOME``), trains a model (or copies the one of ``--home``), and for each case runs a real
``workshop serve`` process with the direct transport under ``--requests`` requests at
``--concurrency`` (bounded: every request has a 10 s timeout, every wait a deadline):

* ``kill9_<engine>`` / ``sigterm_<engine>``: the signal at the middle request, with the engine
  ``healthy``, ``refusing`` (stopped at the first quarter) or ``hung`` (SIGSTOP at the first
  quarter); then the engine is restored and the service restarted, which replays its journal;
* ``outage``: the engine stopped for ``--outage-s`` seconds under traffic, no crash;
* ``burst``: ``--burst`` requests at concurrency 32, no fault;
* ``replay``: ``--replay-n`` events handed to the spool, shipped by ``workshop events replay``
  (and 1,000 for comparison): its peak memory.

Every answered ``prediction_id`` is then looked up in the engine (plus, for cases that stop the
in-memory engine, the ids it held just before the stop). Prints ONE JSON object: per case
``answered``, ``indexed``, ``lost`` (answered, never indexed), ``resent`` (documents indexed more
than once: ``_version`` > 1, harmless thanks to ``_id = prediction_id``), ``spool_peak_events`` /
``spool_peak_mb`` (the most waiting on disk) and ``replay_peak_rss_mb`` (peak RSS of the process
that replayed). Figures are reported, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import free_port  # noqa: E402
from workshop import events as ev  # noqa: E402
from workshop import stack  # noqa: E402
from workshop.config import Settings, get_settings  # noqa: E402
from workshop.dataset import CATALOGUE  # noqa: E402
from workshop.service_process import ServiceProcess  # noqa: E402

ENGINES = ("healthy", "refusing", "hung")
CASES = [f"{s}_{e}" for s in ("kill9", "sigterm") for e in ENGINES] + [
    "outage",
    "burst",
    "replay",
]


class Traffic:
    """``total`` POST /api/predict from ``concurrency`` keep-alive connections; ``on_answer(n)``
    is called with the running count of answered requests (to fire a fault at a given one)."""

    def __init__(self, port: int, total: int, concurrency: int) -> None:
        self.port, self.total, self.concurrency = port, total, concurrency
        self.answered: list[str] = []
        self.failed = 0
        self.latencies: list[float] = []
        self._lock = threading.Lock()
        self._next = 0
        self.hooks: list[tuple[int, Callable[[], None]]] = []
        self.keep_going: Callable[[], bool] = lambda: False

    def _claim(self) -> int | None:
        with self._lock:
            if self._next >= self.total and not self.keep_going():
                return None
            if self._next >= 4 * self.total:  # hard bound whatever keep_going says
                return None
            self._next += 1
            return self._next

    def _worker(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while (number := self._claim()) is not None:
            product = CATALOGUE[number % len(CATALOGUE)]
            body = json.dumps(
                {"date": "2026-02-01", "item_nbr": product.item_nbr, "onpromotion": False}
            )
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/api/predict", body, {"content-type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise OSError(resp.status)
                prediction_id = json.loads(data)["prediction_id"]
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                with self._lock:
                    self.failed += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.005)  # the server is gone: do not spin
                continue
            with self._lock:
                self.answered.append(prediction_id)
                self.latencies.append((time.perf_counter() - started) * 1000)
                count = len(self.answered)
                due = [hook for at, hook in self.hooks if at == count]
            for hook in due:
                hook()
        if conn is not None:
            conn.close()

    def run(self) -> None:
        threads = [threading.Thread(target=self._worker) for _ in range(self.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


class Bench:
    def __init__(self, settings: Settings, env: dict[str, str]) -> None:
        self.settings = settings
        self.env = env
        self.snapshot: set[str] = set()  # ids the engine held before it was stopped

    # -- engine
    def engine_pid(self) -> int:
        record = stack.read_record(self.settings)
        assert record is not None
        return int(record.pid)

    def stop_engine(self, answered: list[str]) -> None:
        self.snapshot |= self.indexed(list(answered))[0]
        stack.embedded_down(self.settings)

    def start_engine(self) -> None:
        if not stack.embedded_status(self.settings).running:
            stack.embedded_up(self.settings)

    def indexed(self, ids: list[str]) -> tuple[set[str], int]:
        """Ids of ``ids`` in the engine, and how many were indexed more than once."""
        es = stack.connect(self.settings)
        es.indices.refresh(index="model-*", ignore_unavailable=True, allow_no_indices=True)
        found: set[str] = set()
        resent = 0
        for start in range(0, len(ids), 1000):
            part = ids[start : start + 1000]
            hits = es.search(
                index="model-*",
                query={"ids": {"values": part}},
                size=len(part),
                source=False,
                version=True,
                ignore_unavailable=True,
                allow_no_indices=True,
            )["hits"]["hits"]
            found |= {h["_id"] for h in hits}
            resent += sum(1 for h in hits if int(h.get("_version", 1)) > 1)
        return found, resent

    # -- service
    def service(self) -> ServiceProcess:
        return ServiceProcess(settings=self.settings, env=self.env, startup_timeout=90).start()

    def spool_now(self) -> tuple[int, int]:
        status = ev.Spool(self.settings.spool_dir).status()
        return status["waiting"], status["bytes"]

    def drain(self, svc: ServiceProcess, timeout: float = 180.0) -> float:
        """Wait until the service's logger has nothing waiting; its peak RSS (MB)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            health = svc.health() or {}
            events = health.get("events", {})
            if events.get("queued") == 0 and events.get("spool_size") == 0:
                break
            time.sleep(0.3)
        return _peak_rss_mb(svc.pid)

    def watch_spool(self, svc: ServiceProcess, peak: dict[str, int], stop: threading.Event) -> None:
        while not stop.wait(0.2):
            health = svc.health() or {}
            events = health.get("events", {})
            peak["events"] = max(peak["events"], int(events.get("spool_size") or 0))
            peak["bytes"] = max(peak["bytes"], int(events.get("journal_bytes") or 0))

    # -- cases
    def crash(self, sig: signal.Signals, engine: str, total: int, concurrency: int) -> dict:
        self.snapshot = set()
        svc = self.service()
        traffic = Traffic(svc.port, total, concurrency)
        peak = {"events": 0, "bytes": 0}
        if engine == "refusing":
            traffic.hooks.append((total // 4, lambda: self.stop_engine(traffic.answered)))
        elif engine == "hung":
            traffic.hooks.append((total // 4, lambda: os.kill(self.engine_pid(), signal.SIGSTOP)))
        assert svc.process is not None
        process = svc.process
        traffic.hooks.append((total // 2, lambda: process.send_signal(sig)))
        stop = threading.Event()
        watcher = threading.Thread(target=self.watch_spool, args=(svc, peak, stop))
        watcher.start()
        try:
            traffic.run()
            process.wait(timeout=60)
        finally:
            stop.set()
            watcher.join()
            svc.stop()
        waiting, nbytes = self.spool_now()
        peak["events"], peak["bytes"] = max(peak["events"], waiting), max(peak["bytes"], nbytes)
        if engine == "hung":
            os.kill(self.engine_pid(), signal.SIGCONT)
        self.start_engine()
        return self._after(traffic, peak, restart=True)

    def outage(self, total: int, concurrency: int, seconds: float) -> dict:
        self.snapshot = set()
        svc = self.service()
        traffic = Traffic(svc.port, total, concurrency)
        back = threading.Event()

        def down_then_up() -> None:
            self.stop_engine(traffic.answered)
            threading.Timer(seconds, lambda: (self.start_engine(), back.set())).start()

        traffic.hooks.append((total // 4, down_then_up))
        traffic.keep_going = lambda: not back.is_set()
        return self._run_no_crash(svc, traffic)

    def burst(self, total: int) -> dict:
        self.snapshot = set()
        svc = self.service()
        return self._run_no_crash(svc, Traffic(svc.port, total, 32))

    def _run_no_crash(self, svc: ServiceProcess, traffic: Traffic) -> dict:
        peak = {"events": 0, "bytes": 0}
        stop = threading.Event()
        watcher = threading.Thread(target=self.watch_spool, args=(svc, peak, stop))
        watcher.start()
        try:
            traffic.run()
            rss = self.drain(svc)
        finally:
            stop.set()
            watcher.join()
            svc.stop()
        return self._after(traffic, peak, restart=False, rss=rss)

    def _after(
        self, traffic: Traffic, peak: dict[str, int], *, restart: bool, rss: float | None = None
    ) -> dict:
        if restart:  # the next start replays what the killed / stopped process left
            svc = self.service()
            try:
                rss = self.drain(svc)
            finally:
                svc.stop()
        left, _ = self.spool_now()
        found, resent = self.indexed(traffic.answered)
        indexed = len(set(traffic.answered) & (found | self.snapshot))
        latencies = sorted(traffic.latencies)
        return {
            "answered": len(traffic.answered),
            "indexed": indexed,
            "lost": len(traffic.answered) - indexed,
            "resent": resent,
            "not_answered": traffic.failed,
            "spool_peak_events": peak["events"],
            "spool_peak_mb": round(peak["bytes"] / (1 << 20), 2),
            "left_in_spool": left,
            "replay_peak_rss_mb": rss,
            "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1) if latencies else None,
        }

    def replay(self, n: int) -> dict:
        result: dict[str, Any] = {}
        for label, count in (("small", 1000), ("large", n)):
            spool = ev.Spool(self.settings.spool_dir)
            template = ev.PredictionEvent.create(
                prediction=1.0,
                model_version="v1",
                channel="batch",
                date="2026-02-01",
                product=CATALOGUE[0],
                onpromotion=False,
                latency_ms=0.1,
            ).to_document()
            ids = []
            for start in range(0, count, 20_000):
                docs = []
                for i in range(start, min(count, start + 20_000)):
                    pid = f"00000000-0000-4000-8{label == 'large':03d}-{i:012d}"
                    ids.append(pid)
                    docs.append({**template, "prediction_id": pid})
                spool.append(docs)
            on_disk = spool.status()["bytes"]
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "workshop", "events", "replay", "--json"],
                env={**os.environ, **self.env},
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            assert proc.stdout is not None
            out = proc.stdout.read()  # bounded: the replay's own deadlines end it
            _, status, usage = os.wait4(proc.pid, 0)  # reaped here, to read its own rusage
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.perf_counter() - started
            report = json.loads(out.decode().strip().splitlines()[-1])
            found, resent = self.indexed(ids)
            result[label] = {
                "events": count,
                "spool_mb": round(on_disk / (1 << 20), 1),
                "replayed": report["replayed"],
                "exit_code": proc.returncode,
                "indexed": len(found),
                "lost": count - len(found),
                "resent": resent,
                "seconds": round(seconds, 1),
                "replay_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
            }
        return result


def _peak_rss_mb(pid: int | None) -> float | None:
    """VmHWM (peak resident set) of a running process, from /proc (Linux)."""
    with contextlib.suppress(OSError, TypeError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--outage-s", type=float, default=10.0)
    parser.add_argument("--replay-n", type=int, default=100_000)
    parser.add_argument("--cases", nargs="*", default=CASES, choices=CASES)
    parser.add_argument("--home", type=Path, help="copy this WORKSHOP_HOME's models")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    env = {
        "WORKSHOP_HOME": str(tmp),
        "WORKSHOP_ES_URL": f"http://127.0.0.1:{free_port()}",
        "WORKSHOP_ES_ENGINE": "embedded",
        "WORKSHOP_EVENT_TRANSPORT": "elasticsearch",
        "WORKSHOP_SERVICE_HOST": "127.0.0.1",
    }
    for key in [k for k in os.environ if k.startswith("WORKSHOP_")]:
        del os.environ[key]
    os.environ.update(env)
    settings = get_settings()
    started = time.perf_counter()
    stack.embedded_up(settings)
    try:
        if args.home:
            shutil.copytree(get_settings(home=args.home).models_dir, settings.models_dir)
        else:
            from workshop.modeling import train_and_register

            print("training a model…", file=sys.stderr)
            train_and_register(settings=settings, promote=True, progress=False)
        bench = Bench(settings, env)
        results: dict[str, Any] = {}
        for case in args.cases:
            print(f"case {case}…", file=sys.stderr)
            if case == "outage":
                results[case] = bench.outage(args.requests, args.concurrency, args.outage_s)
            elif case == "burst":
                results[case] = bench.burst(args.burst)
            elif case == "replay":
                results[case] = bench.replay(args.replay_n)
            else:
                kind, engine = case.split("_")
                sig = signal.SIGKILL if kind == "kill9" else signal.SIGTERM
                results[case] = bench.crash(sig, engine, args.requests, args.concurrency)
            print(f"  {json.dumps(results[case])}", file=sys.stderr)
    finally:
        with contextlib.suppress(Exception):
            os.kill(bench.engine_pid(), signal.SIGCONT)  # type: ignore[possibly-undefined]
        stack.embedded_down(settings)
        shutil.rmtree(tmp, ignore_errors=True)
    lost = sum(
        r.get("lost", 0) if "answered" in r else sum(p["lost"] for p in r.values())
        for r in results.values()
    )
    print(
        json.dumps(
            {
                "benchmark": "faults",
                "engine": "embedded (osmem-server), direct transport",
                "requests": args.requests,
                "concurrency": args.concurrency,
                "cases": results,
                "total_lost": lost,
                "seconds": round(time.perf_counter() - started, 1),
                "target": {"lost": 0},
                "meets_target": lost == 0,
            }
        )
    )


if __name__ == "__main__":
    main()
