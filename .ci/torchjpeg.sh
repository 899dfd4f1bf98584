#!/usr/bin/env bash
# The torchjpeg backend and deep mode, in their own virtual environment: torchjpeg 0.9.33 pins
# torch 2.4.1, whose PyPI wheel brings CUDA libraries (about 5 GB), so it never goes into the
# main environment. Builds the environment when it is missing (reuses it when it already holds
# torchjpeg 0.9.33; JPEGAUDIT_TORCHJPEG_FRESH=1 rebuilds), installs this checkout into it, runs
# the deep tests (failing, not skipping, without torchjpeg) and the header-vs-libjpeg
# cross-check on ../shared/corpora, and prints how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
step() { echo "torchjpeg CI: $1 ($((SECONDS - t0)) s so far)"; }

default_venv=/opt/jpegaudit-torchjpeg-venv
if ! mkdir -p /opt 2>/dev/null || [ ! -w /opt ]; then default_venv=.ci-torchjpeg-venv; fi
VENV="${JPEGAUDIT_TORCHJPEG_VENV:-$default_venv}"

has_torchjpeg() {
  "$VENV/bin/python" -c \
    "import importlib.metadata as m, sys; sys.exit(m.version('torchjpeg') != '0.9.33')" \
    2>/dev/null
}

if [ "${JPEGAUDIT_TORCHJPEG_FRESH:-0}" = 1 ] || ! has_torchjpeg; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -qq --upgrade pip
  "$VENV/bin/python" -m pip install -qq 'torchjpeg==0.9.33'
  step "built $VENV ($(du -sh "$VENV" | cut -f1))"
else
  step "reusing $VENV"
fi

# This checkout, editable, with the extra that names torchjpeg (already satisfied).
"$VENV/bin/python" -m pip install -qq -e '.[test,torchjpeg]' -c constraints/test.txt
step "installed jpegaudit into it"

export JPEGAUDIT_REQUIRE_TORCHJPEG=1
"$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  tests/deep/
step "deep tests passed"

if [ -d ../shared/corpora ]; then
  "$VENV/bin/python" scripts/crosscheck_torchjpeg.py ../shared/corpora
  step "cross-check: no disagreement"
else
  echo "torchjpeg CI: ../shared/corpora absent: cross-check skipped"
fi
echo "torchjpeg CI: done in $((SECONDS - t0)) s"
