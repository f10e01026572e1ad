# Paper reproduction (docs/reproduce.md). Included by the Makefile; `make help` lists the targets.
#
# make reproduce-<modality> runs, for every experiment of the modality (conf/experiment/):
#   1. Hydra multiruns over search x scheduler x seeds for: full data; random, craigpb and
#      gradmatchpb at 1%, 5% and 10%; gradmatchpb with the other warm-start setting (text and
#      tabular: kappa=0.35, images: kappa=0), all into one sweep folder;
#   2. the ranking-agreement protocol (python -m automata.ranking);
#   3. the aggregation: python -m automata.results <sweep folder> --plots (results.md/.csv).
# Hyperband and ASHA are separate invocations (the experiments set Hyperband's bracket_order,
# which ASHA does not take), and so are full and the subset selectors (full ignores fraction).
# A failed invocation (a sweep exits non-zero when one of its jobs failed, after the others ran)
# does not stop the others; they are listed at the end (exit status 1) and in
# <sweep folder>/failed_commands.txt, and the report lists the runs they left missing.
#
# Variables (make reproduce-tabular VAR=value ...):
#   QUICK=1       shrunk protocol (epochs, trials, seeds, data sets): a smoke test, not the paper's
#   RESUME=1      allow running into an existing sweep folder (studies continue where they are)
#   EXTRA="..."   more Hydra overrides for every study (e.g. device=cuda:1 paths.data_dir=/data)
#   RANK_EXTRA="..." Hydra overrides for the ranking studies only (e.g. train.epochs=50 on images)
#   REPRO_SEEDS, REPRO_SEARCH, REPRO_FRACTIONS, REPRO_SELECTORS, RANK_K, RANK_SEEDS_* (below)

.PHONY: reproduce-tabular reproduce-text reproduce-image

comma := ,
empty :=
space := $(empty) $(empty)

QUICK ?= 0
RESUME ?= 0
EXTRA ?=
RANK_EXTRA ?=
REPRO_ROOT ?= outputs/reproduce
REPRO_SEEDS ?= 0,1,2
REPRO_SEARCH ?= random,tpe
REPRO_FRACTIONS ?= 0.01,0.05,0.1
REPRO_SELECTORS ?= random,craigpb,gradmatchpb
WARM_SELECTOR ?= gradmatchpb
RANK_K ?= 27
# The experiments of a modality: every conf/experiment/*.yaml whose experiment.modality is it
# (a new experiment YAML joins its modality's sweeps without an edit here).
experiments_of = $(sort $(basename $(notdir $(shell grep -lE \
	'^[[:space:]]+modality:[[:space:]]*$(1)([[:space:]]|$$)' conf/experiment/*.yaml))))
TABULAR_EXPERIMENTS ?= $(call experiments_of,tabular)
TEXT_EXPERIMENTS ?= $(call experiments_of,text)
IMAGE_EXPERIMENTS ?= $(call experiments_of,image)
# kappa of the extra gradmatchpb sweep: the experiments' own kappa is 0 for text and tabular
# (the paper's text setting has no warm start) and 0.35 for images (the paper's)
WARM_KAPPA_tabular ?= 0.35
WARM_KAPPA_text ?= 0.35
WARM_KAPPA_image ?= 0
RANK_SEEDS_tabular ?= 0 1 2
RANK_SEEDS_text ?= 0 1 2
RANK_SEEDS_image ?= 0
SHRINK_tabular ?=
SHRINK_text ?=
SHRINK_image ?=

ifeq ($(QUICK),1)
REPRO_ROOT := outputs/reproduce-quick
REPRO_SEEDS := 0,1
RANK_K := 6
TABULAR_EXPERIMENTS := tabular_dna tabular_satimage
TEXT_EXPERIMENTS := text_trec6
IMAGE_EXPERIMENTS := image_cifar10
RANK_SEEDS_tabular := 0
RANK_SEEDS_text := 0
RANK_SEEDS_image := 0
SHRINK_tabular := train.epochs=3 tuning.n_trials=6 tuning.tensorboard=false
SHRINK_text := train.epochs=3 tuning.n_trials=6 tuning.tensorboard=false
SHRINK_image := train.epochs=2 tuning.n_trials=3 tuning.tensorboard=false
# Tiny models on a few shared cores: one thread each avoids oversubscription stalls.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
endif

# $(call quick_banner,<modality>)
quick_banner = QUICK mode: shrunk protocol, not the paper's ($(strip $(SHRINK_$(1))); \
seeds $(REPRO_SEEDS); experiments $(strip $($(call upper,$(1))_EXPERIMENTS)); ranking K=$(RANK_K))
upper = $(if $(filter tabular,$(1)),TABULAR,$(if $(filter text,$(1)),TEXT,IMAGE))

# $(call repro_sweep,<modality>,<selector and scheduler arguments>)
repro_sweep = $(PY) -m automata -m experiment=$$exp $(2) search=$(REPRO_SEARCH) \
	seed=$(REPRO_SEEDS) hydra.sweep.dir=$(REPRO_ROOT)/$(1) $(SHRINK_$(1)) $(EXTRA) \
	|| echo "$(strip $(2)) (experiment=$$exp)" >> $(REPRO_ROOT)/$(1)/failed_commands.txt

# $(call reproduce,<modality>)
define reproduce
	@out=$(REPRO_ROOT)/$(1); \
	if [ -d $$out ] && [ -n "$$(ls -A $$out 2>/dev/null)" ] && [ "$(RESUME)" != 1 ]; then \
	  echo "error: $$out is not empty; move it away, or RESUME=1 to continue its studies"; \
	  exit 2; fi; \
	mkdir -p $$out && rm -f $$out/failed_commands.txt
	@echo "== reproduce-$(1): $($(call upper,$(1))_EXPERIMENTS) -> $(REPRO_ROOT)/$(1)"
	@$(if $(filter 1,$(QUICK)),echo "== $(call quick_banner,$(1))",true)
	@start=$$(date +%s); \
	for exp in $($(call upper,$(1))_EXPERIMENTS); do \
	  for sched in "scheduler=hyperband" "scheduler=asha ~scheduler.bracket_order"; do \
	    $(call repro_sweep,$(1),$$sched selector=full); \
	    $(call repro_sweep,$(1),$$sched selector=$(REPRO_SELECTORS) \
	      selector.fraction=$(REPRO_FRACTIONS)); \
	    $(call repro_sweep,$(1),$$sched selector=$(WARM_SELECTOR) \
	      selector.fraction=$(REPRO_FRACTIONS) selector.kappa=$(WARM_KAPPA_$(1))); \
	  done; \
	  $(PY) -m automata.ranking experiment=$$exp $(SHRINK_$(1)) $(EXTRA) $(RANK_EXTRA) --k $(RANK_K) \
	    --seeds $(RANK_SEEDS_$(1)) --fractions $(subst $(comma),$(space),$(REPRO_FRACTIONS)) \
	    --selectors $(subst $(comma),$(space),$(REPRO_SELECTORS)) \
	      $(WARM_SELECTOR):kappa=$(WARM_KAPPA_$(1)) \
	    --out $(REPRO_ROOT)/$(1)/ranking/$$exp \
	    || echo "ranking (experiment=$$exp)" >> $(REPRO_ROOT)/$(1)/failed_commands.txt; \
	done; \
	echo "== sweeps and rankings took $$(( $$(date +%s) - start )) s"
	$(PY) -m automata.results $(REPRO_ROOT)/$(1) --plots \
	  $(if $(filter 1,$(QUICK)),--note "$(call quick_banner,$(1))")
	@if [ -s $(REPRO_ROOT)/$(1)/failed_commands.txt ]; then \
	  echo "== these invocations failed (their runs are listed as missing in results.md):"; \
	  cat $(REPRO_ROOT)/$(1)/failed_commands.txt; exit 1; fi
	@echo "== results: $(REPRO_ROOT)/$(1)/results.md"
endef

reproduce-tabular: venv ## Paper protocol on DNA, SATIMAGE, LETTER, CONNECT-4 (CPU; QUICK=1: 5-10 min on 2 cores)
	$(call reproduce,tabular)

reproduce-text: venv ## Paper protocol on TREC6, SST2, SST5, GLUE-SST2 (LSTM; a GPU helps; QUICK=1 for TREC6 only)
	$(call reproduce,text)

reproduce-image: venv ## Paper protocol on CIFAR10, CIFAR100, SVHN (ResNet18, T=300: meant for a GPU)
	@echo "== reproduce-image is meant for a GPU (ResNet18, T = 300 epochs, 27 trials per study);"
	@echo "   data in \$$AUTOMATA_DATA_DIR or paths.data_dir (EXTRA=\"paths.data_dir=...\")."
	$(call reproduce,image)
