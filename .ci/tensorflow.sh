#!/usr/bin/env bash
# TFRecord files written by TensorFlow itself, in its own virtual environment: tensorflow-cpu
# is about 600 MB installed and never goes into the main environment. Builds the environment
# when it is missing (reuses it when it already holds tensorflow-cpu; JPEGAUDIT_TENSORFLOW_FRESH=1
# rebuilds), installs this checkout into it, and runs the TensorFlow cross-checks of
# tests/against_oracles/test_container_writers.py (failing, not skipping, without TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
step() { echo "tensorflow CI: $1 ($((SECONDS - t0)) s so far)"; }

default_venv=/opt/jpegaudit-tensorflow-venv
if ! mkdir -p /opt 2>/dev/null || [ ! -w /opt ]; then default_venv=.ci-tensorflow-venv; fi
VENV="${JPEGAUDIT_TENSORFLOW_VENV:-$default_venv}"

has_tensorflow() {
  "$VENV/bin/python" -c "import importlib.metadata as m; m.version('tensorflow-cpu')" 2>/dev/null
}

if [ "${JPEGAUDIT_TENSORFLOW_FRESH:-0}" = 1 ] || ! has_tensorflow; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -qq --upgrade pip
  "$VENV/bin/python" -m pip install -qq tensorflow-cpu
  step "built $VENV ($(du -sh "$VENV" | cut -f1))"
else
  step "reusing $VENV"
fi

# This checkout and what the cross-check tests import (not the whole test extra).
"$VENV/bin/python" -m pip install -qq -e . pytest pytest-timeout pillow google-crc32c
step "installed jpegaudit into it"

export JPEGAUDIT_REQUIRE_TENSORFLOW=1
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -k tensorflow \
  tests/against_oracles/test_container_writers.py
step "done"
