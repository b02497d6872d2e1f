#!/usr/bin/env bash
# Cloud TPU VM pod slice: the same command on every worker; jax.distributed finds the pod
# (GVOXEL_DISTRIBUTED=1 makes every worker join it).
#   launch/tpu_pod.sh TPU_NAME ZONE synthesis:paper gs://bucket/runs/chair
# (the workdir must be reachable from every worker, e.g. a GCS path or a shared disk;
#  gvoxel must be installed on every worker first: `pip install 'gvoxel[tpu]'` or, in the
#  checkout, `pip install -e '.[tpu]'`).
set -euo pipefail
tpu=${1:?tpu name}
zone=${2:?zone}
config=${3:?config}
workdir=${4:?workdir}
shift 4
printf -v args ' %q' --config="$config" --workdir="$workdir" "$@"
gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all --command \
  "GVOXEL_DISTRIBUTED=1 python -m gvoxel.main$args"
