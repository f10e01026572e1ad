#!/usr/bin/env bash
# One short check for a lent GPU machine (a few minutes): prints the GPU, then times ResNet18
# epochs on generated CIFAR10-format data with full data and gradmatchpb, fp32 and bf16.
# Usage: bash scripts/gpu_check.sh   (uses .venv when present, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3; [ -x .venv/bin/python ] && PY=.venv/bin/python
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 "$PY" scripts/gpu_check.py "$@"
