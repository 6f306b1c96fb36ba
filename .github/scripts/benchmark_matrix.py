#!/usr/bin/env python3
"""Print the benchmarks job matrix (runners x torch versions) and the default torch for $GITHUB_OUTPUT.

The torch versions come from asv.conf.json (one list for local runs and CI), unless the
manual trigger names others. The self-hosted GPU and Apple-silicon (MPS) runners join only
when the repository variable enabling each is "true", so forks without them stay green.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# runs_on: what `runs-on:` takes. machine: the stable asv machine name results are filed
# under ("" for self-hosted runners: the workflow uses the runner's own name).
# torch_index: extra pip index for torch ("" = PyPI's default wheels).
# require_device: the device the runner exists for; `sqrtwatch run` fails without it.
# pip_cache: setup-python's cache ("" on self-hosted runners, which keep their own pip cache).
# max_profile: the largest profile that fits timeout_minutes where asv must spawn a fresh
# interpreter per cell and round (macOS, GPUs: ~3.7 s each); see docs/ci.md for the estimates.
RUNNERS = {
    "linux-cpu": {
        "runs_on": "ubuntu-latest",
        "machine": "gha-ubuntu-latest",
        "torch_index": PYTORCH_CPU_INDEX,
        "require_device": "",
        "pip_cache": "pip",
        "max_profile": "full",
        "timeout_minutes": 120,
    },
    # GitHub documents no MPS on hosted macOS runners: CPU cells only (the MPS probe skips
    # the rest before any process starts).
    "macos": {
        "runs_on": "macos-14",
        "machine": "gha-macos-14",
        "torch_index": "",
        "require_device": "",
        "pip_cache": "pip",
        "max_profile": "quick",
        "timeout_minutes": 120,
    },
    # PyPI's Linux wheels are the CUDA builds.
    "gpu": {
        "runs_on": ["self-hosted", "gpu"],
        "machine": "",
        "torch_index": "",
        "require_device": "cuda",
        "pip_cache": "",
        "max_profile": "full",
        "timeout_minutes": 720,
    },
    # A self-hosted Apple-silicon Mac: real MPS. PyPI's macOS arm64 wheels include it.
    "mps": {
        "runs_on": ["self-hosted", "macOS", "ARM64"],
        "machine": "",
        "torch_index": "",
        "require_device": "mps",
        "pip_cache": "",
        "max_profile": "full",
        "timeout_minutes": 720,
    },
}
# Self-hosted runners join only when their repository variable is "true".
OPT_IN = ("gpu", "mps")
VERSION = re.compile(r"^\d+(\.\d+)*([a-z]+\d*)?(\+[a-z0-9.]+)?$")


def configured_torch_versions(config_path: Path) -> list[str]:
    """The torch versions of asv.conf.json's matrix."""
    try:
        config = json.loads(config_path.read_text())
        versions = config["matrix"]["req"]["torch"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"{config_path}: no matrix.req.torch list ({exc})") from exc
    return check_versions(versions, str(config_path))


def check_versions(versions: list, source: str) -> list[str]:
    """``versions`` if each is an exact version string, else exit naming ``source``."""
    if not isinstance(versions, list) or not versions:
        raise SystemExit(f"{source}: expected a non-empty list of torch versions, got {versions!r}")
    for version in versions:
        if not isinstance(version, str) or not VERSION.match(version):
            raise SystemExit(f"{source}: {version!r} is not an exact torch version such as 2.13.0")
    return versions


def plan(torch_versions: list[str], enabled: set[str] = frozenset()) -> dict:
    """The ``strategy.matrix`` value: one entry per runner and torch version (opt-in runners if ``enabled``)."""
    runners = [name for name in RUNNERS if name not in OPT_IN or name in enabled]
    return {
        "include": [
            {"runner": name, **RUNNERS[name], "torch": version}
            for name in runners
            for version in torch_versions
        ]
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("asv.conf.json"))
    parser.add_argument("--torch", default="", help="Comma-separated versions overriding asv.conf.json.")
    parser.add_argument("--gpu", default="", help='The repository variable; "true" adds the GPU runner.')
    parser.add_argument(
        "--mps", default="", help='The repository variable; "true" adds the Apple-silicon runner.'
    )
    args = parser.parse_args(argv)

    if args.torch.strip():
        versions = check_versions([v.strip() for v in args.torch.split(",") if v.strip()], "--torch")
    else:
        versions = configured_torch_versions(args.config)
    switches = {"gpu": args.gpu, "mps": args.mps}
    matrix = plan(versions, {name for name, value in switches.items() if value.strip().lower() == "true"})
    sys.stdout.write(f"matrix={json.dumps(matrix, separators=(',', ':'))}\n")
    # The first listed version serves the jobs that need just one (pull requests, publishing).
    sys.stdout.write(f"default_torch={versions[0]}\n")


if __name__ == "__main__":
    main()
