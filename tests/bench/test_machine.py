"""The quiet-machine check, timing of calls, measurements in a child process."""

from __future__ import annotations

import os
import sys

import pytest

from automata.bench import machine
from automata.bench.machine import busy_cores, cpu_jiffies, run_child, time_calls

# /proc/stat's first line: user nice system idle iowait irq softirq steal guest guest_nice
BEFORE = "cpu  1000 0 500 8000 100 0 0 0 0 0\ncpu0 ...\n"


def _after(busy: int, idle: int) -> str:
    return f"cpu  {1000 + busy} 0 500 {8000 + idle} 100 0 0 0 0 0\n"


def test_busy_and_total_ticks_of_the_cpu_line():
    assert cpu_jiffies(BEFORE) == (1500, 9600)  # busy: user + system; idle + iowait are idle


def test_other_processes_busy_cores_leave_out_our_own_cpu_time():
    hz = os.sysconf("SC_CLK_TCK")
    # over 2 s, 3 cores' worth of busy ticks, 1 s of it ours: others kept 1 core busy
    after = _after(busy=3 * hz, idle=hz)
    assert busy_cores(BEFORE, after, 2.0, own_cpu_seconds=1.0) == pytest.approx(1.0)
    assert busy_cores(BEFORE, _after(0, 2 * hz), 2.0, own_cpu_seconds=0.1) == 0.0  # never < 0


def test_quiet_check_warns_only_above_the_limit(monkeypatch):
    monkeypatch.setattr(machine, "busy_cores", lambda *a: 1.5)
    check = machine.quiet_check(sample_seconds=0.01)
    assert check.load == pytest.approx(os.getloadavg()[0], abs=5)
    if check.busy is not None:  # Linux
        assert check.busy == 1.5 and "1.5 cores busy" in check.warning
        monkeypatch.setattr(machine, "busy_cores", lambda *a: 0.2)
        assert machine.quiet_check(sample_seconds=0.01).warning == ""


def test_time_calls_times_every_repeat_after_an_untimed_warm_up():
    calls: list[str] = []

    def run() -> int:
        calls.append("run")
        return calls.count("run")

    times, out = time_calls(
        run, 3, warmup=lambda: calls.append("warm"), sync=lambda: calls.append("sync")
    )
    assert len(times) == 3 and all(t >= 0 for t in times)
    assert out == 3  # the last run's output
    assert [c for c in calls if c != "sync"] == ["warm", "run", "run", "run"]
    assert calls[:2] == ["warm", "sync"]  # the warm-up is waited for
    assert calls[-2:] == ["run", "sync"]  # and so is every timed run


def test_a_child_hands_its_result_back_or_says_why_not(tmp_path):
    ok = run_child(
        [sys.executable, "-c", "from automata.bench import child_result; child_result({'n': 3})"]
    )
    assert ok.result == {"n": 3} and ok.error == "" and ok.wall_seconds > 0
    bad = run_child([sys.executable, "-c", "raise SystemExit('no data here')"])
    assert bad.result is None and "no data here" in bad.error


def test_machine_names_cores_python_and_torch():
    import platform

    text = machine.machine_summary()
    assert f"{os.cpu_count()} cores, Python {platform.python_version()}, torch " in text
