"""A stand-in for the ``gh`` CLI that keeps releases and workflow runs in a folder.

It answers the calls .github/scripts make, with gh's own messages where the scripts read
them. ``FAKE_GH_DIR`` is its state: ``releases/<tag>/<asset>`` and
``runs/<id>/run.json`` (``{"jobs": [...]}``) plus ``runs/<id>/artifacts/<name>/``; every call
is appended to ``calls.log``. ``FAKE_GH_FAIL`` makes calls fail as GitHub can:
``outage`` (HTTP 503 on every call), ``ratelimit`` (HTTP 403 rate limit), or
``upload:<asset>`` (an upload of that asset dies after --clobber removed the old copy, as a
cancelled job would leave it). ``FAKE_GH_PERMISSIONS`` (the job's ``permissions:`` as JSON)
refuses what the job's token could not do, as a private repository does.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import sys
from pathlib import Path

STATE = Path(os.environ.get("FAKE_GH_DIR", "."))


def die(message: str, status: int = 1):
    sys.stderr.write(message + "\n")
    raise SystemExit(status)


def emit(payload, jq: str | None) -> None:
    """Print ``payload`` as gh does, with the few ``--jq`` filters the scripts use."""
    if jq is None:
        print(json.dumps(payload))
    elif jq == ".assets[].name":
        print("\n".join(asset["name"] for asset in payload["assets"]))
    elif jq == ".[].databaseId":
        print("\n".join(str(run["databaseId"]) for run in payload))
    elif jq == '.jobs[] | select(.name == "publish") | .conclusion':
        print("\n".join(job["conclusion"] for job in payload["jobs"] if job["name"] == "publish"))
    else:
        die(f"fake gh: unsupported --jq {jq!r}", 2)


LEVEL = {"none": 0, "read": 1, "write": 2}


def require(scope: str, level: str) -> None:
    """Refuse like GitHub when the job's token lacks ``scope: level``."""
    granted = json.loads(os.environ.get("FAKE_GH_PERMISSIONS", "null"))
    if granted is not None and LEVEL[granted.get(scope, "none")] < LEVEL[level]:
        die(f"HTTP 403: Resource not accessible by integration (needs {scope}: {level})")


def release(args: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="gh release")
    parser.add_argument("command")
    parser.add_argument("tag")
    parser.add_argument("files", nargs="*")
    parser.add_argument("--json")
    parser.add_argument("--jq")
    parser.add_argument("--dir", default=".")
    parser.add_argument("--pattern", action="append", default=[])
    parser.add_argument("--clobber", action="store_true")
    parser.add_argument("--latest")
    parser.add_argument("--title")
    parser.add_argument("--notes")
    options = parser.parse_args(args)
    folder = STATE / "releases" / options.tag
    require("contents", "write" if options.command in ("create", "upload") else "read")
    if options.command == "create":
        if folder.exists():
            die(f"a release with the same tag name already exists: {options.tag}")
        folder.mkdir(parents=True)
        return
    if not folder.is_dir():
        die("release not found")
    assets = sorted(path.name for path in folder.iterdir())
    if options.command == "view":
        emit({"tagName": options.tag, "assets": [{"name": name} for name in assets]}, options.jq)
    elif options.command == "download":
        chosen = [name for name in assets if any(fnmatch.fnmatch(name, p) for p in options.pattern)]
        if not chosen:
            die("no assets match the file pattern")
        Path(options.dir).mkdir(parents=True, exist_ok=True)
        for name in chosen:
            target = Path(options.dir) / name
            if target.exists() and not options.clobber:
                die(
                    f"{target} already exists (use `--clobber` to overwrite file or `--skip-existing` to skip file)"
                )
            shutil.copy(folder / name, target)
    elif options.command == "upload":
        failing = os.environ.get("FAKE_GH_FAIL", "")
        for path in map(Path, options.files):
            if (folder / path.name).exists():
                if not options.clobber:
                    die(f"asset under the same name already exists: [{path.name}]")
                (folder / path.name).unlink()
            if failing == f"upload:{path.name}":
                die(f"failed to upload {path.name}: The operation was canceled.")
            shutil.copy(path, folder / path.name)
    else:
        die(f"fake gh: unsupported release command {options.command!r}", 2)


def run(args: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="gh run")
    parser.add_argument("command")
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--workflow")
    parser.add_argument("--branch")
    parser.add_argument("--status")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--json")
    parser.add_argument("--jq")
    parser.add_argument("--pattern", action="append", default=[])
    parser.add_argument("--dir", default=".")
    options = parser.parse_args(args)
    runs = STATE / "runs"
    require("actions", "read")
    if options.command == "list":
        ids = sorted((int(p.name) for p in runs.iterdir()), reverse=True) if runs.is_dir() else []
        emit([{"databaseId": i} for i in ids[: options.limit]], options.jq)
        return
    folder = runs / str(options.run_id)
    if not folder.is_dir():
        die(f"could not find any workflow run with ID {options.run_id}")
    if options.command == "view":
        emit(json.loads((folder / "run.json").read_text()), options.jq)
    elif options.command == "download":
        artifacts = folder / "artifacts"
        names = sorted(p.name for p in artifacts.iterdir()) if artifacts.is_dir() else []
        chosen = [
            n for n in names if not options.pattern or any(fnmatch.fnmatch(n, p) for p in options.pattern)
        ]
        if not chosen:
            die("no valid artifacts found to download")
        for name in chosen:
            shutil.copytree(artifacts / name, Path(options.dir) / name)
    else:
        die(f"fake gh: unsupported run command {options.command!r}", 2)


def main(argv: list[str]) -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    with (STATE / "calls.log").open("a") as log:
        log.write(json.dumps(argv) + "\n")
    failing = os.environ.get("FAKE_GH_FAIL", "")
    if failing == "outage":
        die("HTTP 503: Service Unavailable (https://api.github.com/graphql)")
    if failing == "ratelimit":
        die(
            "HTTP 403: API rate limit exceeded for installation ID 1. (https://api.github.com/repos/o/r/releases)"
        )
    if not argv or argv[0] not in ("release", "run"):
        die(f"fake gh: unsupported command {argv[:1]}", 2)
    (release if argv[0] == "release" else run)(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
