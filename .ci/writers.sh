#!/usr/bin/env bash
# The heavy JPEG writers of the provenance tests, apart from README's test command: GIMP (from
# Debian's packages) and TensorFlow (tensorflow-cpu, in its own virtual environment: the one
# .ci/tensorflow.sh uses, /opt/jpegaudit-tensorflow-venv, built here when missing and reused
# there, so CI installs TensorFlow once; JPEGAUDIT_WRITERS_FRESH=1 rebuilds it). Runs the heavy-writer tests (failing, not skipping,
# when a writer is missing), then rebuilds the signature database from every writer into a
# temporary folder and compares it with the committed one (scripts/build_signatures.py
# --check): the same writers must give the same files. torchvision is not installed here (its
# CUDA wheel is 5.5 GB): its tests skip, saying so (docs/provenance.md).
# Called by .ci/run with the main environment (.ci-venv) active.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$SECONDS
step() { echo "writers CI: $1 ($((SECONDS - t0)) s so far)"; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && ! command -v gimp >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gimp >/dev/null
  step "installed GIMP"
fi

default_venv=/opt/jpegaudit-tensorflow-venv
if ! mkdir -p /opt 2>/dev/null || [ ! -w /opt ]; then default_venv=.ci-tensorflow-venv; fi
VENV="${JPEGAUDIT_WRITERS_VENV:-${JPEGAUDIT_TENSORFLOW_VENV:-$default_venv}}"
has_tf() { "$VENV/bin/python" -c "import tensorflow" 2>/dev/null; }
if [ "${JPEGAUDIT_WRITERS_FRESH:-0}" = 1 ] || ! has_tf; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -qq --upgrade pip
  "$VENV/bin/python" -m pip install -qq tensorflow-cpu numpy
  step "built $VENV ($(du -sh "$VENV" | cut -f1))"
else
  step "reusing $VENV"
fi

export JPEGAUDIT_TF_PYTHON="$VENV/bin/python"
export JPEGAUDIT_HEAVY_WRITERS=1 JPEGAUDIT_REQUIRE_HEAVY_WRITERS=1
python -m pytest -q -p no:cacheprovider -m heavy_writer tests/provenance/
step "heavy-writer tests passed"

python scripts/build_signatures.py --check
step "signature database reproduced"
echo "writers CI: done in $((SECONDS - t0)) s"
