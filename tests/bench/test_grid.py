"""The harness's grid: one record per cell, resumed, refused under other settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automata.bench import RECORD_NAME, BenchError, Cell, Grid, finished_records

CELLS = [Cell("dna", arm, seed) for seed in (0, 1) for arm in ("full", "random")]


class Arm:
    """A fake arm: records the cells it ran, fails on the cells it is told to."""

    def __init__(self, fail: tuple[Cell, ...] = ()) -> None:
        self.ran: list[Cell] = []
        self.fail = fail

    def __call__(self, cell: Cell, folder: Path) -> dict:
        assert folder.is_dir() and [p.name for p in folder.iterdir()] == [RECORD_NAME]
        self.ran.append(cell)
        (folder / "run.log").write_text("trained")
        if cell in self.fail:
            raise RuntimeError(f"{cell} diverged")
        return {"acc": 0.5 + cell.seed / 10, "arm": cell.arm}


def grid(tmp_path: Path, epochs: int = 3) -> Grid:
    return Grid(tmp_path, settings=lambda cell: {"epochs": epochs, "extra": ("a", "b")})


def test_every_cell_gets_a_finished_record_in_its_folder(tmp_path):
    arm = Arm()
    assert grid(tmp_path).run(CELLS, arm, timed=False, quiet=True) == []
    assert arm.ran == CELLS
    records = grid(tmp_path).records(CELLS)
    assert list(records) == CELLS
    rec = records[Cell("dna", "random", 1)]
    assert rec.result == {"acc": 0.6, "arm": "random"}
    assert rec.settings == {"epochs": 3, "extra": ["a", "b"]}  # as JSON reads it back
    assert rec.finished is not None and rec.wall_seconds is not None and rec.wall_seconds >= 0
    assert rec.load_after is not None and rec.load_before is None  # untimed: no check before
    assert (tmp_path / "dna" / "random" / "seed1" / "run.log").exists()
    assert not list(tmp_path.rglob(".*tmp*"))  # the atomic writes left nothing behind


def test_a_phase_is_a_folder_per_dataset(tmp_path):
    g = Grid(tmp_path, settings=lambda cell: {}, phase="rank")
    assert g.folder(Cell("dna", "full", 2)) == tmp_path / "dna" / "rank" / "full" / "seed2"


def test_finished_cells_are_not_run_again(tmp_path):
    grid(tmp_path).run(CELLS[:3], Arm(), timed=False, quiet=True)
    arm = Arm()
    grid(tmp_path).run(CELLS, arm, timed=False, quiet=True)
    assert arm.ran == CELLS[3:]
    assert grid(tmp_path).plan(CELLS) == []


def test_an_interrupted_cell_starts_afresh(tmp_path):
    g = grid(tmp_path)
    g.run(CELLS, Arm(), timed=False, quiet=True)
    folder = g.folder(CELLS[1])
    path = folder / RECORD_NAME
    started = json.loads(path.read_text())
    started.update(finished=None, result={})  # as the record is while the cell runs
    path.write_text(json.dumps(started))
    (folder / "partial.ckpt").write_text("half an epoch")
    assert g.record(CELLS[1]) is None and g.plan(CELLS) == [CELLS[1]]
    arm = Arm()
    g.run(CELLS, arm, timed=False, quiet=True)  # Arm asserts the folder was emptied
    assert arm.ran == [CELLS[1]] and not (folder / "partial.ckpt").exists()
    assert g.record(CELLS[1]) is not None


def test_a_record_made_under_other_settings_is_refused(tmp_path):
    grid(tmp_path, epochs=3).run(CELLS, Arm(), timed=False, quiet=True)
    with pytest.raises(BenchError, match=r"other settings: epochs 3 \(now 5\); use another"):
        grid(tmp_path, epochs=5).run(CELLS, Arm(), timed=False, quiet=True)
    with pytest.raises(BenchError, match="other settings"):
        grid(tmp_path, epochs=5).records(CELLS)


def test_a_record_of_another_format_is_refused(tmp_path):
    g = grid(tmp_path)
    g.run(CELLS[:1], Arm(), timed=False, quiet=True)
    path = g.folder(CELLS[0]) / RECORD_NAME
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": 0}))
    with pytest.raises(BenchError, match=r"record format 0 \(now 1\)"):
        g.plan(CELLS)


def test_files_the_harness_did_not_write_are_refused_not_deleted(tmp_path):
    g = grid(tmp_path)
    old = g.folder(CELLS[0])
    old.mkdir(parents=True)
    (old / "anytime.json").write_text("{}")  # an older benchmark's own record
    with pytest.raises(BenchError, match="no record.json"):
        g.run(CELLS, Arm(), timed=False, quiet=True)
    assert (old / "anytime.json").exists()
    g.folder(CELLS[1]).mkdir(parents=True)  # an empty folder is fine
    assert g.plan(CELLS[1:]) == CELLS[1:]


def test_a_failing_cell_is_reported_and_runs_again_next_time(tmp_path, capsys):
    g = grid(tmp_path)
    failed = g.run(CELLS, Arm(fail=(CELLS[2],)), timed=False, keep_going=True, label="rank")
    assert [f.cell for f in failed] == [CELLS[2]] and "diverged" in failed[0].error
    out = capsys.readouterr().out
    assert "== rank: 4 cells to run" in out and "[3/4] dna full seed 1: FAILED" in out
    assert g.plan(CELLS) == [CELLS[2]]
    with pytest.raises(RuntimeError, match="diverged"):
        g.run(CELLS, Arm(fail=(CELLS[2],)), timed=False, quiet=True)


def test_warm_up_runs_once_before_the_first_cell_to_run(tmp_path):
    g = grid(tmp_path)
    g.run(CELLS[:1], Arm(), timed=False, quiet=True)
    seen: list[Cell] = []
    g.run(CELLS, Arm(), timed=False, quiet=True, warm_up=seen.append)
    assert seen == [CELLS[1]]
    g.run(CELLS, Arm(), timed=False, quiet=True, warm_up=seen.append)
    assert seen == [CELLS[1]]  # nothing to run: no warm-up


def test_timed_cells_record_the_machine_before_them(tmp_path, capsys):
    g = grid(tmp_path)
    g.run(CELLS[:1], Arm(), describe=lambda r: f"acc {r.result['acc']:.2f}")
    rec = g.record(CELLS[0])
    assert rec is not None and rec.load_before is not None
    assert (
        f"[1/1] dna full seed 0: acc 0.50 (load {rec.load_before:.2f})" in capsys.readouterr().out
    )
    with pytest.raises(ValueError, match="one at a time"):
        g.run(CELLS, Arm(), jobs=2)


def test_clear_forgets_the_cells(tmp_path):
    g = grid(tmp_path)
    g.run(CELLS, Arm(), timed=False, quiet=True)
    g.clear(CELLS[:2])
    assert g.plan(CELLS) == CELLS[:2] and not g.folder(CELLS[0]).exists()


def _pool_arm(cell: Cell, folder: Path) -> dict:
    if cell.arm == "broken":
        raise ValueError("no such selector")
    return {"seed": cell.seed, "folder": str(folder)}


def test_untimed_cells_run_in_a_process_pool(tmp_path):
    g = grid(tmp_path)
    assert g.run(CELLS, _pool_arm, timed=False, jobs=2, quiet=True) == []
    records = g.records(CELLS)
    assert {c: r.result["folder"] for c, r in records.items()} == {
        c: str(g.folder(c)) for c in CELLS
    }
    broken = Cell("dna", "broken", 0)
    failed = g.run([*CELLS, broken], _pool_arm, timed=False, jobs=2, keep_going=True, quiet=True)
    assert [(f.cell, f.error) for f in failed] == [(broken, "ValueError: no such selector")]
    with pytest.raises(ValueError, match="no such selector"):
        g.run([broken], _pool_arm, timed=False, jobs=2, quiet=True)


def test_a_damaged_record_is_one_line_error(tmp_path):
    g = grid(tmp_path)
    g.folder(CELLS[0]).mkdir(parents=True)
    (g.folder(CELLS[0]) / RECORD_NAME).write_text("{not json")
    with pytest.raises(BenchError, match="not a benchmark record"):
        g.plan(CELLS)


def test_finished_records_read_a_folder_without_the_interrupted_ones(tmp_path):
    g = grid(tmp_path)
    g.run(CELLS, Arm(), timed=False, quiet=True)
    path = g.folder(CELLS[0]) / RECORD_NAME
    started = json.loads(path.read_text())
    started.update(finished=None, result={})  # as the record is while the cell runs
    path.write_text(json.dumps(started))
    found = finished_records(tmp_path, "*/*/seed*/record.json")
    assert sorted(r.cell for r in found) == sorted(CELLS[1:])
    assert finished_records(tmp_path / "nothing", "*/record.json") == []
