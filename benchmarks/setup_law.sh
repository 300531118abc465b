#!/usr/bin/env bash
# Creates benchmarks/.venv-law with law==0.1.21 (the reference system of the benchmarks).
# Idempotent: does nothing when the venv already has that law version and its dependencies.
#
# Usage: bash benchmarks/setup_law.sh [VENV_DIR]
# Env:   PYTHON (interpreter used to create the venv, default python3)

set -euo pipefail

LAW_VERSION="0.1.21"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${1:-${HERE}/.venv-law}"
PYTHON="${PYTHON:-python3}"

installed_ok() {
    [ -x "${VENV}/bin/python" ] && [ -x "${VENV}/bin/law" ] || return 1
    "${VENV}/bin/python" - "${LAW_VERSION}" <<'EOF' >/dev/null 2>&1
import sys

import law
import luigi  # noqa: F401
import numpy  # noqa: F401
import six  # noqa: F401

sys.exit(0 if law.__version__ == sys.argv[1] else 1)
EOF
}

if installed_ok; then
    echo "law ${LAW_VERSION} already installed in ${VENV}"
    exit 0
fi

if [ ! -x "${VENV}/bin/python" ]; then
    echo "creating venv ${VENV}"
    "${PYTHON}" -m venv "${VENV}"
fi

# law's own requirements are six and luigi; both are pulled in by pip. numpy is for law's
# numpy contrib, which law-core-compat's formatter tests compare byte for byte.
"${VENV}/bin/python" -m pip install --quiet --disable-pip-version-check \
    "law==${LAW_VERSION}" "luigi" "six" "numpy"

if ! installed_ok; then
    echo "error: law ${LAW_VERSION} is not importable in ${VENV} after installation" >&2
    exit 1
fi

echo "installed law ${LAW_VERSION} into ${VENV}:"
"${VENV}/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -iE '^(law|luigi|numpy|six) ' || true
