# automata: `make help` lists the targets. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv run test test-fast lint check-wheel bench-tabular bench-selection bench-omp bench-evidence bench-fidelity bench-threads bench-denormal bench-peers test-peers bench-milo bench-scale docs-tables clean tune-workers postgres postgres-stop

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,postgres,launchers,tabular]'
	@touch $@

venv: $(VENV)/.installed ## Create .venv and install automata with pinned dependencies

run: venv ## Run the default experiment (dna, MLP, TPE + Hyperband over the data's size, random subsets: the ladder); ARGS="..." adds overrides
	$(PY) -m automata $(ARGS)

test: venv ## Run the whole test suite
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-fast: venv ## Run the tests not marked slow
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

check-wheel: venv ## Build the wheel, install it in a fresh venv, run `automata` outside the repository
	scripts/check_wheel.sh $(PY)

lint: venv ## ruff (lint + format check) and mypy
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts
	$(VENV)/bin/mypy

bench-tabular: venv ## Benchmark: tuning time, speedup and accuracy of full/random/gradmatchpb on dna and satimage (ARGS="--out DIR": resumable)
	$(PY) scripts/bench_tabular.py $(ARGS)

bench-selection: venv ## Benchmark: OMP speed, gradient-matching error and selection time of every selector
	$(PY) scripts/bench_selection.py $(ARGS)

bench-omp: venv ## Benchmark: OMP solver time and residual against the reference approach
	$(PY) scripts/bench_omp.py $(ARGS)

bench-evidence: venv ## Benchmark: selectors vs full and gradmatchpb vs random, 5 seeds, 95% CIs (resumable; QUICK=1: smoke run)
	$(PY) scripts/bench_evidence.py $(if $(filter 1,$(QUICK)),--quick) $(ARGS)

# The peers extra (DEHB and its dask/ConfigSpace dependencies) only for bench-peers.
$(VENV)/.peers: $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,postgres,launchers,tabular,peers]'
	@touch $@

bench-peers: venv $(VENV)/.peers ## Benchmark: TPE+Hyperband full/random vs AUTOMATA vs DEHB, anytime curves, same wall-clock (resumable; QUICK=1: smoke run)
	$(PY) scripts/bench_peers.py $(if $(filter 1,$(QUICK)),--quick) $(ARGS)

test-peers: venv $(VENV)/.peers ## Run the tests of the DEHB arms (bench-peers, bench-fidelity) with the peers extra installed; make test skips them
	$(PY) -m pytest -q tests/test_bench_peers.py tests/scripts/test_bench_fidelity.py $(PYTEST_ARGS)

bench-fidelity: venv ## Benchmark: data size as the resource (the ladder), confirming finalists, fixed subsets, full-data tuning; per-seed records (resumable; QUICK=1: smoke run)
	$(PY) scripts/bench_fidelity.py $(if $(filter 1,$(QUICK)),--quick) $(ARGS)

bench-threads: venv ## Benchmark: whole runs at 1 thread and at torch's default, idle and with one core busy
	$(PY) scripts/bench_threads.py $(ARGS)

bench-denormal: venv ## Benchmark: one configuration's epoch with denormal floats flushed and not (LSTM and MLP, a low and a high learning rate)
	$(PY) scripts/bench_denormal.py $(ARGS)

bench-milo: venv ## Benchmark: time and peak memory of MILO's shared orderings at N = 1e4, 1e5, 1e6 (ARGS="--sizes ...")
	$(PY) scripts/bench_milo.py $(ARGS)

bench-scale: venv ## Benchmark: epoch, selection, trial time and peak memory against N = 1e4..1e6 (generated data); QUICK=1: smoke run
	$(PY) scripts/bench_scale.py $(if $(filter 1,$(QUICK)),--quick) $(ARGS)

docs-tables: venv ## Remake the measured tables of docs/performance.md and docs/selection.md from the committed per-seed records (docs/results.md: the command in its marker)
	$(PY) scripts/docs_tables.py $(ARGS)

# Paper-reproduction targets live in mk/ (included here, listed by `make help`).
-include mk/*.mk

clean: ## Remove outputs (keeps .venv)
	rm -rf outputs/* .pytest_cache .ruff_cache .mypy_cache

N ?= 2
THREADS ?= 1
STUDY ?= workers
STORAGE ?= journal://$(CURDIR)/outputs/workers/$(STUDY)/study.log
tune-workers: venv ## Run N worker processes on one study (STORAGE=postgresql://... for many machines); ARGS adds overrides
	@mkdir -p outputs/workers/$(STUDY)
	@pids=""; for i in $$(seq 0 $$(($(N) - 1))); do \
		$(PY) -m automata scheduler=asha tuning.storage=$(STORAGE) tuning.study_name=$(STUDY) \
			tuning.worker=$$i tuning.final_train=false threads=$(THREADS) hydra.run.dir=outputs/workers/$(STUDY)/worker$$i $(ARGS) & \
		pids="$$pids $$!"; done; status=0; for p in $$pids; do wait $$p || status=1; done; exit $$status
	$(PY) -m automata scheduler=asha tuning.storage=$(STORAGE) tuning.study_name=$(STUDY) \
		hydra.run.dir=outputs/workers/$(STUDY)/final $(ARGS)

# A local PostgreSQL for many workers' studies (scripts/postgres_for_tests.sh serve/halt): on
# 127.0.0.1 only, no password; not the tests' throwaway server (another port, data kept).
PG_PORT ?= 55433
PG_DIR ?= $(CURDIR)/.postgres
postgres: ## Start a local PostgreSQL on 127.0.0.1 (data kept in PG_DIR=.postgres) and print its URL for tuning.storage
	@AUTOMATA_PGPORT=$(PG_PORT) AUTOMATA_PGDATA=$(PG_DIR) AUTOMATA_PGDB=automata scripts/postgres_for_tests.sh serve

postgres-stop: ## Stop the server of `make postgres` (its data stays in PG_DIR; delete that folder to start afresh)
	@AUTOMATA_PGPORT=$(PG_PORT) AUTOMATA_PGDATA=$(PG_DIR) scripts/postgres_for_tests.sh halt
