#!/usr/bin/env bash
# Build the desktop bundle (dist/streamscope/) and the .deb (dist/streamscope_*.deb) from
# this checkout: packaging/build.py does the work (its docstring is the contract).
#
#   bash packaging/build.sh [--dist DIR] [--cache-dir DIR] [--no-deb] [--trims LIST]
#
# The interpreter: $PYTHON if set, else .venv/bin/python (bash .ci/setup makes it), else a
# build virtualenv in build/venv with the app and PyInstaller installed from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ] && .venv/bin/python -c 'import PyInstaller' 2>/dev/null; then
        PYTHON=.venv/bin/python
    else
        [ -x build/venv/bin/python ] || python3 -m venv build/venv
        build/venv/bin/python -m pip install -q --upgrade pip
        build/venv/bin/python -m pip install -q . 'pyinstaller>=6.10'
        PYTHON=build/venv/bin/python
    fi
fi
exec "$PYTHON" packaging/build.py "$@"
