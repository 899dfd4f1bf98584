#!/usr/bin/env bash
# MDS datasets written by mosaicml-streaming itself, in its own virtual environment:
# streaming requires torch, torchvision and transformers, which never go into the main
# environment. torch is the CPU build when this machine's wheel directory has one (pip's
# find-links), else PyPI's. Builds the environment when it is missing (reuses it when it already
# holds mosaicml-streaming; JPEGAUDIT_STREAMING_FRESH=1 rebuilds), installs this checkout into
# it, and runs the streaming cross-checks of tests/against_oracles/test_container_writers.py
# (failing, not skipping, without streaming).
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
step() { echo "streaming CI: $1 ($((SECONDS - t0)) s so far)"; }

default_venv=/opt/jpegaudit-streaming-venv
if ! mkdir -p /opt 2>/dev/null || [ ! -w /opt ]; then default_venv=.ci-streaming-venv; fi
VENV="${JPEGAUDIT_STREAMING_VENV:-$default_venv}"

has_streaming() {
  "$VENV/bin/python" -c "import importlib.metadata as m; m.version('mosaicml-streaming')" \
    2>/dev/null
}

if [ "${JPEGAUDIT_STREAMING_FRESH:-0}" = 1 ] || ! has_streaming; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -qq --upgrade pip
  # One resolver run with torch pinned to the CPU wheel, so that torchvision is chosen to
  # match it instead of pulling a newer (CUDA) torch.
  cpu_torch=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -n 1 || true)
  "$VENV/bin/python" -m pip install -qq ${cpu_torch:+"$cpu_torch"} mosaicml-streaming
  step "built $VENV ($(du -sh "$VENV" | cut -f1))"
else
  step "reusing $VENV"
fi

"$VENV/bin/python" -m pip install -qq -e . pytest pytest-timeout pillow zstandard
step "installed jpegaudit into it"

export JPEGAUDIT_REQUIRE_STREAMING=1
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -k "mds or streaming" \
  tests/against_oracles/test_container_writers.py
step "done"
