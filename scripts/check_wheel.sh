#!/usr/bin/env bash
# Build the wheel, install it into a fresh virtual environment (pinned by constraints.txt) and
# run the installed `automata` command from an empty folder outside the repository: the
# composed config (--cfg job) and a tiny tuning run. Usage: scripts/check_wheel.sh [python]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
builder=${1:-.venv/bin/python}
work=$(mktemp -d "${TMPDIR:-/tmp}/automata-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "== building the wheel"
rm -rf "$repo/build"  # setuptools' staging folder: stale files there would enter the wheel
"$builder" -m pip wheel --quiet --no-deps --no-build-isolation -w "$work/dist" "$repo"
rm -rf "$repo/build"
wheel=$(ls "$work"/dist/automata-*.whl)
python3 - "$wheel" "$repo/conf" <<'PY'
import sys, zipfile
from pathlib import Path
wheel, conf = sys.argv[1], Path(sys.argv[2])
shipped = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("automata/conf/")}
expected = {"automata/conf/" + p.relative_to(conf).as_posix() for p in conf.rglob("*.yaml")}
missing = sorted(expected - shipped)
if missing:
    sys.exit(f"the wheel lacks {len(missing)} config file(s): {missing[:5]}")
print(f"   {Path(wheel).name}: {len(shipped)} config files")
PY

echo "== installing it into a fresh virtual environment"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$repo/constraints.txt" "$wheel"

echo "== running the installed command outside the repository"
mkdir "$work/elsewhere"
cd "$work/elsewhere"
"$work/venv/bin/automata" --cfg job > job.yaml
grep -qE "^  shipped: dna$" job.yaml \
    || { echo "automata --cfg job does not compose the default data set (dna):"; cat job.yaml; exit 1; }
OMP_NUM_THREADS=1 "$work/venv/bin/automata" train.epochs=2 tuning.n_trials=2 device=cpu \
    hydra.run.dir="$work/elsewhere/run" > run.log 2>&1 || { cat run.log; exit 1; }
test -s run/summary.json
grep -q "done: best val" run.log
echo "   automata --cfg job and a tiny run from $work/elsewhere: ok"
