#!/usr/bin/env bash
# One node, all its GPUs: bash configs/slurm/torchrun_1node.sh configs/train/navila_8b.yaml [--section.key value ...]
# CPU smoke test with 2 processes (DeepSpeed on CPU needs DS_ACCELERATOR=cpu and --train.use_cpu true):
#   DS_ACCELERATOR=cpu NPROC=2 bash configs/slurm/torchrun_1node.sh configs/train/tiny_easyvqa.yaml \
#     --train.deepspeed configs/deepspeed/zero2.json --train.use_cpu true
set -euo pipefail
CONFIG=${1:?usage: torchrun_1node.sh CONFIG.yaml [--section.key value ...]}
shift
NPROC=${NPROC:-$(python -c "import torch; print(max(torch.cuda.device_count(), 1))")}
exec torchrun --standalone --nproc_per_node "$NPROC" -m navagent.train "$CONFIG" "$@"
