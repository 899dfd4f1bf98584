#!/usr/bin/env bash
# One named extra test step in its own virtual environment: heavy oracles (TensorFlow, GIMP,
# torch, ...) that do not belong in README's test command. Usage: bash .ci/step.sh NAME
#
# NAME is defined by .ci/steps/NAME.sh (sourced; see .ci/steps/README.md), which may set:
#   STEP_APT     Debian packages to apt-get install (when root), e.g. "gimp"
#   STEP_PIP     pip requirements installed into the fresh environment before jpegaudit,
#                e.g. "tensorflow-cpu==2.17.0"
#   STEP_EXTRAS  jpegaudit extras installed editable into it (default: test)
#   STEP_TESTS   pytest arguments (default: tests); with JPEGAUDIT_HEAVY_STEP=NAME set, pytest
#                collects only the tests marked @pytest.mark.heavy("NAME", ...) and fails them
#                when a module or tool they name is missing (tests/conftest.py)
#   step_after   a shell function run last with the environment's python as $1 (a cross-check)
#
# Like .ci/torchjpeg.sh: builds the environment when it is missing or its definition changed
# (a hash of .ci/steps/NAME.sh is kept in it), reuses it otherwise (JPEGAUDIT_STEP_FRESH=1
# rebuilds), and prints how long each part took. The environment lives in
# /opt/jpegaudit-step-NAME-venv, or .ci-step-NAME-venv when /opt is not writable, or
# $JPEGAUDIT_STEP_VENV. No tests collected (pytest's exit 5) fails the step.
set -euo pipefail
cd "$(dirname "$0")/.."

name="${1:?usage: bash .ci/step.sh NAME (defined by .ci/steps/NAME.sh)}"
definition="${JPEGAUDIT_STEPS_DIR:-.ci/steps}/$name.sh"
if [ ! -f "$definition" ]; then
  echo "step $name: no definition at $definition" >&2
  exit 2
fi
STEP_APT="" STEP_PIP="" STEP_EXTRAS="test" STEP_TESTS="tests"
# shellcheck source=/dev/null
. "$definition"

t0=$SECONDS
say() { echo "step $name: $1 ($((SECONDS - t0)) s so far)"; }

default_venv=/opt/jpegaudit-step-$name-venv
if ! mkdir -p /opt 2>/dev/null || [ ! -w /opt ]; then default_venv=.ci-step-$name-venv; fi
VENV="${JPEGAUDIT_STEP_VENV:-$default_venv}"
stamp="$(sha256sum "$definition" | cut -d' ' -f1)"

if [ -n "$STEP_APT" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # shellcheck disable=SC2086 # a list of package names
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $STEP_APT >/dev/null
  say "apt-get install $STEP_APT"
fi

if [ "${JPEGAUDIT_STEP_FRESH:-0}" = 1 ] || [ "$(cat "$VENV/.jpegaudit-step" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -qq --upgrade pip
  if [ -n "$STEP_PIP" ]; then
    # shellcheck disable=SC2086 # a list of requirements
    "$VENV/bin/python" -m pip install -qq $STEP_PIP
  fi
  echo "$stamp" >"$VENV/.jpegaudit-step"
  say "built $VENV ($(du -sh "$VENV" | cut -f1))"
else
  say "reusing $VENV"
fi

"$VENV/bin/python" -m pip install -qq -e ".[$STEP_EXTRAS]" -c constraints/test.txt
say "installed jpegaudit[$STEP_EXTRAS] into it"

export JPEGAUDIT_HEAVY_STEP="$name"
# shellcheck disable=SC2086 # pytest arguments
"$VENV/bin/python" -m pytest -q -p no:cacheprovider $STEP_TESTS
say "tests passed"

if declare -F step_after >/dev/null; then
  step_after "$VENV/bin/python"
  say "step_after done"
fi
echo "step $name: done in $((SECONDS - t0)) s"
