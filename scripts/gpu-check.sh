#!/bin/sh
# Issue 14's GPU check (TUTOR_DEVICE=cuda), prepared so that a session lent a GPU machine spends its
# minutes on the check alone (docs/scale.md, "The GPU check").
#
#   here, with the package index:  sh scripts/gpu-check.sh fetch
#       downloads into .whl/ (ignored by git) what the GPU machine's image lacks or has too old, as
#       Python 3.12 wheels: transformers 5.24, SQLAlchemy and greenlet, pytest-asyncio.
#   there, through the device tool: run(command="sh scripts/gpu-check.sh", carry=[".whl"], timeout_s=600)
#       1. scripts/gpu_check.py: every model command's examples on the tiny pack, on cuda and on the cpu,
#          compared as the learner sees them;
#       2. the tiny-pack tests that need no chat platform, on the GPU (their engines run on `auto`).
#   Both logs come back in $OUT. Where no GPU is: `sh scripts/gpu-check.sh dry` runs step 1 cpu vs cpu.
set -u
WHEELS="transformers==5.24.0 sqlalchemy==2.1.9 greenlet==3.5.6 pytest-asyncio==1.5.0"
TESTS="tests/core/test_batching.py tests/core/tasks/test_attention.py tests/core/tasks/test_compare.py tests/core/tasks/test_snippets.py tests/core/tasks/test_explore_answers.py"

if [ "${1:-}" = fetch ]; then
    exec python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl $WHEELS
fi
if [ "${1:-}" = dry ]; then
    exec python3 scripts/gpu_check.py --device cpu
fi

OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TUTOR_CACHE_DIR=/tmp/tutor-cache
export TUTOR_TEST_CACHE=/tmp/tutor-cache
nvidia-smi -L
python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__)"
python3 scripts/gpu_check.py --device cuda > "$OUT/gpu-compare.txt" 2>&1
compared=$?
cat "$OUT/gpu-compare.txt"
python3 -m pytest -q -p no:cacheprovider -m "not slow" $TESTS > "$OUT/gpu-tests.txt" 2>&1
tested=$?
tail -15 "$OUT/gpu-tests.txt"
echo "compare exit $compared, tests exit $tested"
[ "$compared" -eq 0 ] && [ "$tested" -eq 0 ]
