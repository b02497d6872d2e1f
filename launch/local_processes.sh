#!/usr/bin/env bash
# Several processes on this machine, each with its own CPU devices, joined into one run the
# way cluster nodes are (coordinator on localhost, CPU collectives through gloo). Rehearses a
# multi-host setup without a cluster. Usage:
#   launch/local_processes.sh NUM_PROCESSES DEVICES_EACH CONFIG WORKDIR [flags ...]
#   launch/local_processes.sh 2 2 synthesis:smoke runs/mp
set -euo pipefail
n=${1:?number of processes}
devices=${2:?CPU devices per process}
config=${3:?config, e.g. synthesis:smoke}
workdir=${4:?workdir}
shift 4
python=${PYTHON:-python}
port=${GVOXEL_PORT:-$("$python" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')}
export JAX_PLATFORMS=cpu JAX_COORDINATOR_ADDRESS="localhost:$port" JAX_NUM_PROCESSES="$n"
pids=()
for ((i = 0; i < n; i++)); do
  JAX_PROCESS_ID=$i "$python" -m gvoxel.main --config="$config" --workdir="$workdir" \
    --cpu_devices="$devices" "$@" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=$?
done
exit "$status"
