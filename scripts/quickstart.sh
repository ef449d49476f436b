#!/usr/bin/env bash
# The main job on a fresh machine, in one command: set up (scripts/setup_env.sh), then one demo episode of the
# shipped default agent (checkpoints/navagent-default) in an unseen built-in house, written to out/demo
# (MP4 + last-frame PNG + JSON record) with its metrics printed.
#   bash scripts/quickstart.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/demo}
bash scripts/setup_env.sh ""
.venv/bin/navagent demo --out "$OUT"
