#!/usr/bin/env bash
# Cloud TPU VM pod slice: the same command on every worker; jax.distributed finds the pod.
#   launch/tpu_pod.sh TPU_NAME ZONE configs/synthesis.py:paper gs://bucket/runs/chair
# (the workdir must be reachable from every worker, e.g. a GCS path or a shared disk;
#  gvoxel must be installed on every worker first: `pip install -e .` in the checkout).
set -euo pipefail
tpu=${1:?tpu name}
zone=${2:?zone}
config=${3:?config}
workdir=${4:?workdir}
shift 4
gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all --command \
  "cd ~/gvoxel && GVOXEL_DISTRIBUTED=1 python -m gvoxel.main --config=$config --workdir=$workdir $*"
