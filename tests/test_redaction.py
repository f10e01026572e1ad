"""A storage password is in no file that a run or a sweep writes, and in no line it prints.

Real runs and a real ``-m`` sweep (subprocesses), every byte of every file under their folders
and everything they print searched for the password. Without a server, the storage URL's host
does not answer (the runs stop at the storage with one line); with the PostgreSQL server of
``AUTOMATA_TEST_POSTGRES_URL`` (CI) the runs tune to the end.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from automata.redaction import redact_file, redact_log_lines

from .conftest import ROOT, tiny_run

SECRET = "s3cret-PW"
TINY = tiny_run("threads=1")
#: Written by run.py with the URL as given, until it redacts them (issue 18: `config_record` and
#: `summary["storage"]` through automata.tuning.storage.redact).


def _cli(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "automata", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
    )


def _leaks(folder: Path) -> list[Path]:
    """Every file under ``folder`` that holds the password."""
    return [p for p in folder.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory: pytest.TempPathFactory):
    """A run and a sweep with a password in ``tuning.storage``, whose server does not answer."""
    root = tmp_path_factory.mktemp("secret")
    url = f"postgresql://user:{SECRET}@127.0.0.1:{_closed_port()}/db"
    run = _cli([f"tuning.storage={url}", *TINY, f"hydra.run.dir={root / 'run'}"], cwd=root)
    sweep = _cli(
        ["-m", "tuning.study_name=a,b", f"tuning.storage={url}", *TINY]
        + [f"hydra.sweep.dir={root / 'sweep'}"],
        cwd=root,
    )
    return root, run, sweep


@pytest.mark.slow
def test_a_run_prints_and_writes_the_password_nowhere(unreachable):
    root, run, _ = unreachable
    assert run.returncode == 2, run.stderr[-2000:]
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith("error: tuning.storage: cannot open 'postgresql://user:***@127.0.0.1:")
    assert SECRET not in run.stdout + run.stderr
    assert (root / "run" / ".hydra" / "overrides.yaml").is_file()
    assert [p.name for p in _leaks(root / "run")] == []


@pytest.mark.slow
def test_a_sweep_prints_and_writes_the_password_nowhere(unreachable):
    root, _, sweep = unreachable
    assert sweep.returncode == 1, sweep.stderr[-2000:]
    assert SECRET not in sweep.stdout + sweep.stderr
    assert "tuning.storage=postgresql\\://user\\:***@" in sweep.stdout  # the launcher's lines
    jobs = sorted(p for p in (root / "sweep").iterdir() if p.is_dir())
    # Job folders are named without the URL (no password, no folders made of its slashes).
    assert [p.name.split("_", 1)[0] for p in jobs] == ["0", "1"]
    assert not any("storage" in p.name for p in jobs)
    assert (root / "sweep" / "multirun.yaml").is_file()
    leaked = _leaks(root / "sweep")
    assert leaked == []


@pytest.mark.slow
def test_the_files_run_py_writes_hold_no_password(unreachable):
    root, _, _ = unreachable
    assert _leaks(root) == []


@pytest.mark.slow
def test_a_password_from_the_environment_is_written_nowhere(postgres_url: str, tmp_path: Path):
    """The documented route: the URL names no password, libpq reads PGPASSWORD."""
    out = tmp_path / "run"
    res = _cli(
        [f"tuning.storage={postgres_url}", f"tuning.study_name=env-{uuid.uuid4().hex[:8]}"]
        + [*TINY, f"hydra.run.dir={out}"],
        cwd=tmp_path,
        env={"PGPASSWORD": SECRET},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert (out / "summary.json").is_file()
    assert SECRET not in res.stdout + res.stderr and _leaks(out) == []


@pytest.mark.slow
def test_a_password_typed_in_the_url_is_redacted_in_a_whole_run(postgres_url: str, tmp_path):
    # The CI server trusts local connections: any password opens it.
    url = postgres_url.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")
    assert SECRET in url
    out = tmp_path / "run"
    res = _cli(
        [f"tuning.storage={url}", f"tuning.study_name=typed-{uuid.uuid4().hex[:8]}"]
        + [*TINY, f"hydra.run.dir={out}"],
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert SECRET not in res.stdout + res.stderr
    assert [p.name for p in _leaks(out)] == []


def test_the_ci_url_carries_no_password_of_its_own():
    assert (
        "AUTOMATA_TEST_POSTGRES_URL=postgresql://postgres@"
        in (ROOT / "scripts" / "postgres_for_tests.sh").read_text()
    )


def test_every_log_record_is_made_without_the_password(caplog: pytest.LogCaptureFixture):
    factory = logging.getLogRecordFactory()
    try:
        redact_log_lines()
        redact_log_lines()  # once is enough: not wrapped twice
        assert getattr(logging.getLogRecordFactory(), "redacts", False)
        with caplog.at_level("INFO", logger="any.library"):
            logging.getLogger("any.library").info("#0 : tuning.storage=%s", f"pg://u:{SECRET}@h/d")
        assert caplog.messages == ["#0 : tuning.storage=pg://u:***@h/d"]
    finally:
        logging.setLogRecordFactory(factory)


def test_a_record_file_is_rewritten_only_when_it_holds_a_password(tmp_path: Path):
    clean, secret = tmp_path / "clean.yaml", tmp_path / "overrides.yaml"
    clean.write_text("- seed=1\n")
    secret.write_text(f"- tuning.storage=postgresql://u:{SECRET}@h/db\n- seed=1\n")
    assert not redact_file(clean) and not redact_file(tmp_path / "missing.yaml")
    assert redact_file(secret)
    assert secret.read_text() == "- tuning.storage=postgresql://u:***@h/db\n- seed=1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.yaml", "overrides.yaml"]
