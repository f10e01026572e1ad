"""The README's command lines are valid: each composes and passes the checks a run or a sweep
does before training (sweeps: every job, and no two jobs retraining one shared study)."""

from __future__ import annotations

import re
import shlex

import pytest

from automata.run import build_components
from automata.sweep import check_jobs, expand

from .conftest import ROOT, compose_config

README = (ROOT / "README.md").read_text()


def _commands() -> list[list[str]]:
    """Arguments of every ``python -m automata`` / ``automata`` line in the README's shell
    blocks (continuation lines joined, comments dropped)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line.startswith(("python -m automata ", "automata ")):
                continue
            words = shlex.split(line.replace("$RANK", "0").replace("$PWD", "/tmp"))
            if words[:3] == ["python", "-m", "automata"]:
                commands.append(words[3:])
            elif words[:1] == ["automata"]:
                commands.append(words[1:])
    return commands


COMMANDS = _commands()


def test_the_readme_documents_the_installed_command_and_the_report():
    assert "\nautomata --cfg job " in README  # the installed command
    assert "python -m automata.results <sweep folder>" in README
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c)[:60] for c in COMMANDS])
def test_readme_command_is_valid(args, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the GPU recipes too
    flags = [a for a in args if a.startswith("-")]
    if set(flags) & {"--help", "--cfg"}:
        return
    overrides = [a for a in args if not a.startswith("-") and not a.startswith("hydra")]
    if "-m" not in flags:
        build_components(compose_config(overrides))
        return
    jobs = expand(overrides)
    assert jobs and len(jobs) > 1
    check_jobs([compose_config(job) for job in jobs])


def test_the_layout_names_every_package_and_module():
    """The README's layout section matches the tree: every package and module of
    src/automata (but the package's own __init__ and __main__) has its line."""
    layout = README.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    package = ROOT / "src" / "automata"
    entries = {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()}
    entries |= {
        p.name for p in package.glob("*.py") if p.name not in ("__init__.py", "__main__.py")
    }
    listed = set(re.findall(r"^  ([\w.]+/?)\s", layout, flags=re.M))  # src/automata's lines
    mentioned = set(re.findall(r"[\w]+\.py", layout))
    missing = {e for e in entries if e not in listed and e not in mentioned}
    assert not missing, f"README layout lacks {sorted(missing)}"
    gone = {e for e in listed if (e.endswith("/") or e.endswith(".py")) and e not in entries}
    assert not gone, f"README layout names what is not in src/automata: {sorted(gone)}"


def test_the_readme_says_tensorboard_draws_validation_only_where_it_was_measured():
    """Without train.eval_every, a trial's validation curve has a point per scheduler decision
    only: the README says so where it describes the run's TensorBoard curves."""
    paragraph = next(p for p in README.split("\n\n") if p.startswith("In TensorBoard"))
    assert "only where the scheduler\ndecides" in paragraph
    assert "`train.eval_every=1` gives whole curves" in paragraph
    assert "python -m automata train.eval_every=1 " in README  # a recipe, checked above


def test_the_readme_says_why_the_venv_is_large_and_installs_the_cpu_build_at_the_pins():
    """The CPU-only torch recipe installs the versions constraints.txt pins (the test follows
    a new pin), and says it is untried here."""
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.startswith(("torch==", "torchvision=="))
    )
    assert "`.venv` takes 6.1 GB (`du -sh .venv`, measured here)" in README
    assert (
        f".venv/bin/pip install torch=={pins['torch']} torchvision=={pins['torchvision']} "
        "--index-url https://download.pytorch.org/whl/cpu\n" in README
    )
    assert "This recipe is untried" in README


def test_the_multi_worker_recipe_starts_postgresql_with_one_documented_command():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("postgres", "postgres-stop"):
        assert re.search(rf"^{target}: ## \S", makefile, flags=re.M), f"make help lists {target}"
    assert "make tune-workers N=4 STUDY=dna-asha STORAGE=$(make -s postgres) " in README
    assert "`make postgres-stop` stops it" in README


def test_the_benchmark_table_is_the_committed_records():
    """Every cell of the README's bench-evidence table is what docs/results/evidence's
    results.json (made from the committed per-seed records) says, formatted as the tables."""
    import json

    from automata.bench import fmt_ci, fmt_interval

    data = json.loads((ROOT / "docs" / "results" / "evidence" / "results.json").read_text())
    rows = {(r["dataset"], r["selector"], r["fraction"]): r for r in data["rows"]}
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Benchmarks") :]
    lines = [ln for ln in section.splitlines() if re.match(r"\| (dna|satimage) \|", ln)]
    assert len(lines) == 8
    for line in lines:
        ds, sel, speed, test, gap, bad, tau = (c.strip() for c in line.strip("|").split("|"))
        row = rows[(ds, sel, 1.0 if sel == "full" else 0.1)]
        assert test == fmt_ci(*row["test"], 2, 100), line
        n = len(row["per_seed"])
        assert bad == f"{row['bad_picks']} of {n}", line
        ranking = data["ranking"][ds]
        if sel == "full":
            assert tau == f"({fmt_ci(*ranking['ceiling']['tau'][:2])})", line
            continue
        assert speed == f"{fmt_ci(*row['speedup'])}x", line
        assert gap == fmt_interval(*row["gap"], 2, 100), line
        cross = ranking["arms"][f"{sel}_f0.1"]["across_seeds"]["tau"]
        assert tau == fmt_ci(*cross[:2]), line
