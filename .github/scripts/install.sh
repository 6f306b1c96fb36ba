#!/usr/bin/env bash
# Install sqrtwatch into the job's Python with torch pinned to the given version.
# pip must never resolve a bare `torch` (sqrtwatch requires torch>=2.1): PyPI's newest Linux
# wheel is a multi-GB CUDA build. PIP_EXTRA_INDEX_URL (the workflow's) picks CPU wheels.
set -euo pipefail
version=${1:?usage: install.sh TORCH_VERSION}
python -m pip install --upgrade pip
python -m pip install "torch==$version" -e ".[postgres]"
