#!/usr/bin/env bash
# Create (or update) the local virtual environment with everything the project needs.
# Idempotent: a second run only checks. Usage: scripts/install.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
PY=${PYTHON:-python3}
STAMP="$VENV/.installed"
if [ -f "$STAMP" ] && [ "$STAMP" -nt requirements.txt ] && [ "$STAMP" -nt setup.py ] && [ "$STAMP" -nt scripts/install.sh ]; then
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q -c constraints.txt -r requirements.txt
if ! "$VENV/bin/python" -c "import detectron2" 2>/dev/null; then
  WH=build/wheelhouse
  mkdir -p "$WH/raw"
  if ! ls "$WH"/sal_detectron2-*-py3-none-any.whl >/dev/null 2>&1; then
    "${PIP[@]}" download -q --no-deps --only-binary=:all: --python-version 3.10 \
        -d "$WH/raw" sal-detectron2==0.7.2
    "$VENV/bin/python" scripts/make_pure_wheel.py "$WH"/raw/sal_detectron2-*.whl "$WH"
  fi
  "${PIP[@]}" install -q --no-deps --find-links "$WH" "$WH"/sal_detectron2-*-py3-none-any.whl
  # Dependencies the republished wheel does not declare, plus its declared ones.
  "${PIP[@]}" install -q -c constraints.txt "fvcore>=0.1.5,<0.1.6" "iopath>=0.1.7,<0.1.11" \
      yacs tabulate termcolor cloudpickle omegaconf hydra-core black pydot "Pillow>=7.1"
fi
"${PIP[@]}" install -q --no-deps --no-build-isolation -e .
"$VENV/bin/python" -c "import detectron2, torch, human_parsing; print('detectron2', detectron2.__version__, 'torch', torch.__version__)"
touch "$STAMP"
