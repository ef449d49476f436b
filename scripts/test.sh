#!/usr/bin/env bash
# The README test command: sets up what the tests need when it is missing, then runs them.
#   bash scripts/test.sh [PYTEST_ARGS...]     (default: -q -n 2)
# Works on a fresh clone and after scripts/quickstart.sh (which installs no dev extra): .venv gets the dev and
# train extras when pytest or peft is missing; .venv-habitat (habitat-lab pins numpy 1.26, so it has its own
# venv, see tests/envs/habitat/conftest.py) is created when absent. .ci/run calls this script verbatim.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c "import pytest, xdist, peft, navagent" >/dev/null 2>&1; then
    bash scripts/setup_env.sh dev,train
fi

if [ ! -x .venv-habitat/bin/python ]; then
    python3 -m venv .venv-habitat
    .venv-habitat/bin/python -m pip install -q --upgrade pip
    .venv-habitat/bin/python -m pip install -q torch==2.13.0
    .venv-habitat/bin/python -m pip install -q -e ".[habitat]" "pytest>=8"
fi

if [ "$#" -eq 0 ]; then set -- -q -n 2; fi
exec .venv/bin/python -m pytest "$@"
