"""benchmarks/host.py: the steal share a benchmark reports with its figures."""

from __future__ import annotations

from pathlib import Path

from benchmarks import host


def _stat(path: Path, user: int, idle: int, steal: int, guest: int = 0) -> None:
    # user nice system idle iowait irq softirq steal guest guest_nice, then a per-CPU line
    path.write_text(f"cpu  {user} 0 10 {idle} 0 0 0 {steal} {guest} 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n")


def test_steal_share_of_the_ticks_between_start_and_report(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    _stat(stat, user=100, idle=1000, steal=0)
    meter = host.HostMeter(stat)
    # 1,000 more ticks, 50 of them stolen; guest time is inside user and is not counted again
    _stat(stat, user=600, idle=1450, steal=50, guest=400)
    assert meter.report() == {"steal_pct": 5.0, "quiet": False}


def test_a_quiet_run(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    _stat(stat, user=0, idle=0, steal=0)
    meter = host.HostMeter(stat)
    _stat(stat, user=500, idle=9490, steal=10)
    assert meter.report() == {"steal_pct": 0.1, "quiet": True}


def test_no_proc_stat_says_unknown(tmp_path: Path) -> None:
    meter = host.HostMeter(tmp_path / "missing")
    assert meter.report() == {"steal_pct": None, "quiet": None}


def test_a_busy_host_claims_nothing() -> None:
    assert host.meets(True, {"steal_pct": 0.1, "quiet": True})
    assert not host.meets(True, {"steal_pct": 12.3, "quiet": False})
    assert not host.meets(False, {"steal_pct": 0.1, "quiet": True})
    assert host.meets(True, {"steal_pct": None, "quiet": None})  # no /proc/stat: figures decide
