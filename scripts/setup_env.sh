#!/usr/bin/env bash
# Set-up from nothing on a fresh Linux machine: EGL/Mesa system libraries (apt-get, when available), then a
# virtual environment .venv with the CPU build of torch and navagent with the given extras.
#   bash scripts/setup_env.sh [EXTRAS]        (EXTRAS default "dev,train", "" for none)
# Used by .ci/run and scripts/quickstart.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=${1-dev,train}

# System libraries for headless rendering (EGL + Mesa's software rasterizer).
if command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq || true
    $SUDO apt-get install -y -qq libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned to the CPU build, so nothing pulls a CUDA wheel.
.venv/bin/python -m pip install -q torch==2.13.0
if [ -n "$EXTRAS" ]; then SPEC=".[$EXTRAS]"; else SPEC="."; fi
.venv/bin/python -m pip install -q -e "$SPEC"
