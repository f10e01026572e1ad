"""`make postgres` / `make postgres-stop` (scripts/postgres_for_tests.sh serve/halt): a local
PostgreSQL for many workers' studies, whose URL the README's recipe passes as tuning.storage.
Run where PostgreSQL's server binaries are installed (Debian's package), skipped elsewhere."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import optuna
import pytest

from automata.tuning.storage import make_storage

from ..conftest import ROOT, server_answers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not glob.glob("/usr/lib/postgresql/*/bin/initdb") or not shutil.which("make"),
        reason="PostgreSQL's server binaries are not installed",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _make(target: str, port: int, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", target, f"PG_PORT={port}", f"PG_DIR={data}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))},
    )


def test_make_postgres_prints_a_url_whose_studies_outlive_a_restart():
    # Not pytest's tmp_path: as root the server runs as the postgres user, which must reach
    # the data folder.
    folder = Path(tempfile.mkdtemp(prefix="automata-pg-test-"))
    folder.chmod(0o755)
    port, data = _free_port(), folder / "data"
    try:
        started = _make("postgres", port, data)
        assert started.returncode == 0, started.stderr
        url = started.stdout.strip()
        assert url == f"postgresql://postgres@127.0.0.1:{port}/automata"  # stdout: the URL alone
        assert server_answers(url)
        optuna.create_study(study_name="kept", storage=make_storage(url))
        again = _make("postgres", port, data)  # running: the same server, the same URL
        assert (again.returncode, again.stdout.strip()) == (0, url)
        assert _make("postgres-stop", port, data).returncode == 0
        assert not server_answers(url, timeout=1.0)
        assert _make("postgres", port, data).stdout.strip() == url
        names = [s.study_name for s in optuna.get_all_study_summaries(make_storage(url))]
        assert names == ["kept"], "the data outlives a stop"
    finally:
        _make("postgres-stop", port, data)
        shutil.rmtree(folder, ignore_errors=True)
