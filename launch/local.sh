#!/usr/bin/env bash
# One machine, all its devices (GPUs or CPU). Usage:
#   launch/local.sh configs/synthesis.py:paper runs/chair [--config.train.num_iters=5000 ...]
set -euo pipefail
config=${1:?config, e.g. configs/synthesis.py:paper}
workdir=${2:?workdir}
shift 2
exec python -m gvoxel.main --config="$config" --workdir="$workdir" "$@"
