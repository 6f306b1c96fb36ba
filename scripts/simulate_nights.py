"""Simulate nights of sqrtwatch's nightly workflow on this machine, with real changes to the environment.

    python scripts/simulate_nights.py WORKDIR [--nights 15] [--threads-from 6] [--flush-from 9]
        [--upgrade-from 12] [--bench REGEX]... [--python PATH]

Every night runs the commands the nightly workflow runs, on a small grid, for real:

    sqrtwatch run --quick --bench REGEX --results WORKDIR/results --machine sim-host
    sqrtwatch ingest WORKDIR/results --db sqlite:///WORKDIR/sqrtwatch.db
    sqrtwatch detect --db ...
    sqrtwatch alerts --format json --status all --db ...

in a dedicated virtualenv (WORKDIR/venv: torch 2.13.0 and this checkout, made on first use),
or in ``--python``'s environment, on a clone of this checkout's HEAD (WORKDIR/checkout), so
that nothing in sqrtwatch's code changes between nights. The environment does:

- ``--threads-from N``: from night N on, ``OMP_NUM_THREADS`` is half the cores (asv hands its
  environment to the benchmark processes).
- ``--flush-from N``: from night N on, a ``sitecustomize.py`` that every process of ``run``
  loads (WORKDIR/inject, first on ``PYTHONPATH``, which asv hands on to the benchmark
  processes of an ``existing`` environment) calls ``torch.set_flush_denormal(True)``, as an
  extension built with ``-ffast-math`` would on import.
- ``--upgrade-from N``: before night N, ``pip install torch==2.14.1`` inside the virtualenv.

0 turns a change off. Each night prints its new alerts with their cause; the end prints the
alert table (markdown) and writes it (alerts.md), every alert's JSON (alerts.json) and the
new alerts of each night (nights.json) to WORKDIR.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MACHINE = "sim-host"
OLD_TORCH, NEW_TORCH = "2.13.0", "2.14.1"
# Cells of the quick profile that the changes move on the 2-core dev box (docs/nightly.md):
# float32 sqrt of 1e5 elements runs on every core (thread count), and on subnormal inputs it
# takes the CPU's slow path unless subnormals are flushed (10-20x faster then); with
# subnormals flushed, torch's bfloat16 sqrt and NumPy's float32 sqrt stop being correctly
# rounded on subnormal inputs (0 -> 127 and 0 -> 16,366 mismatches: deterministic counts).
DEFAULT_BENCH = [
    r"bench_throughput\.SqrtDomain\.time_sqrt\('cpu', 'float32', 100000, '(positive|subnormal)'\)",
    r"bench_accuracy\.Accuracy\.track_mismatches\('cpu', '(bfloat16|float32)', '(torch\.sqrt|numpy)'\)",
]
FLUSH_MODULE = "import torch\n\ntorch.set_flush_denormal(True)  # what a -ffast-math extension does on load\n"


class SimulationError(RuntimeError):
    """A workflow command failed; the message names it and shows its output."""


@dataclass
class Night:
    """What one night changes in the environment."""

    index: int
    env: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)


def command(args: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> str:
    """Run one command; its stdout, or SimulationError with its output."""
    completed = subprocess.run(args, cwd=cwd, env=env, text=True, capture_output=True)
    if completed.returncode != 0:
        raise SimulationError(
            f"{' '.join(args)} exited {completed.returncode}:\n{completed.stdout}{completed.stderr}"
        )
    return completed.stdout


def make_venv(venv: Path) -> Path:
    """The simulation's own virtualenv with torch 2.13.0 and this checkout; returns its python."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} (torch {OLD_TORCH} and this checkout; minutes)", flush=True)
        command([sys.executable, "-m", "venv", str(venv)])
        command([str(python), "-m", "pip", "install", "--quiet", f"torch=={OLD_TORCH}"])
        command([str(python), "-m", "pip", "install", "--quiet", "-e", str(REPO)])
    return python


def torch_version(python: Path) -> str:
    return command([str(python), "-c", "import torch; print(torch.__version__)"]).strip()


def reset(workdir: Path, python: Path, own_venv: bool) -> None:
    """A fresh results folder and database, no flush; the own venv back to torch 2.13.0."""
    shutil.rmtree(workdir / "results", ignore_errors=True)
    shutil.rmtree(workdir / "inject", ignore_errors=True)
    (workdir / "sqrtwatch.db").unlink(missing_ok=True)
    if own_venv and torch_version(python).split("+")[0] != OLD_TORCH:
        command([str(python), "-m", "pip", "install", "--quiet", f"torch=={OLD_TORCH}"])


def plan(args: argparse.Namespace) -> list[Night]:
    """The nights and their environment changes."""
    cores = os.cpu_count() or 2
    nights = []
    for index in range(1, args.nights + 1):
        night = Night(index)
        if args.threads_from and index >= args.threads_from:
            night.env["OMP_NUM_THREADS"] = str(max(1, cores // 2))
            if index == args.threads_from:
                night.events.append(f"threads {cores} -> {max(1, cores // 2)} (OMP_NUM_THREADS)")
        if args.flush_from and index == args.flush_from:
            night.events.append("subnormals flushed (sitecustomize.py: torch.set_flush_denormal(True))")
        if args.upgrade_from and index == args.upgrade_from:
            night.events.append(f"torch {OLD_TORCH} -> {NEW_TORCH} (pip install in the environment)")
        nights.append(night)
    return nights


def apply_changes(night: Night, args: argparse.Namespace, python: Path) -> None:
    """Change the environment as the night says (files and packages; env vars go to the commands)."""
    if args.flush_from and night.index == args.flush_from:
        inject = args.workdir / "inject"
        inject.mkdir(exist_ok=True)
        (inject / "sitecustomize.py").write_text(FLUSH_MODULE)
    if args.upgrade_from and night.index == args.upgrade_from:
        print(f"  pip install torch=={NEW_TORCH} (minutes)", flush=True)
        command([str(python), "-m", "pip", "install", "--quiet", f"torch=={NEW_TORCH}"])


def snapshot(workdir: Path) -> Path:
    """A clone of this checkout's HEAD: every night measures the same commit, whatever happens here."""
    checkout = workdir / "checkout"
    shutil.rmtree(checkout, ignore_errors=True)
    command(["git", "clone", "--quiet", "--shared", str(REPO), str(checkout)])
    # asv.conf.json names the branch main: the clone's HEAD is it, whatever branch was out here.
    command(["git", "checkout", "--quiet", "-B", "main"], cwd=checkout)
    return checkout


def run_night(night: Night, args: argparse.Namespace, python: Path, checkout: Path, url: str) -> list[dict]:
    """The workflow's commands for one night, in ``checkout``; returns every alert after it."""
    # The snapshot's sqrtwatch everywhere; what is injected, in run's processes only.
    env = {**os.environ, **night.env, "PYTHONPATH": str(checkout)}
    inject = checkout.parent / "inject"
    run_env = {**env, "PYTHONPATH": os.pathsep.join([str(inject), str(checkout)])} if inject.is_dir() else env
    results = checkout.parent / "results"
    sqrtwatch = [str(python), "-m", "sqrtwatch"]
    bench = [arg for pattern in args.bench or DEFAULT_BENCH for arg in ("--bench", pattern)]
    command(
        [*sqrtwatch, "run", "--quick", *bench, "--results", str(results), "--machine", MACHINE],
        run_env,
        checkout,
    )
    command([*sqrtwatch, "ingest", str(results), "--db", url], env, checkout)
    command([*sqrtwatch, "detect", "--db", url], env, checkout)
    listing = [*sqrtwatch, "alerts", "--format", "json", "--status", "all", "--db", url]
    return json.loads(command(listing, env, checkout))


def cause_text(cause: dict | None) -> str:
    """An alert's cause in one line, as ``sqrtwatch alerts`` and the dashboard write it."""
    from sqrtwatch.db.detection.causes import describe

    return describe(cause)


def alert_table(alerts: list[dict], first_night: dict[int, int]) -> str:
    """The alerts as a markdown table, in the night they first appeared."""
    lines = [
        "| night | kind | benchmark | params | before -> after | resolved | cause |",
        "| ---: | --- | --- | --- | ---: | --- | --- |",
    ]
    for alert in sorted(alerts, key=lambda a: (first_night[a["id"]], a["id"])):
        params = ", ".join(f"{k}={v.strip(chr(39))}" for k, v in alert["params"].items())
        change = f"{alert['value_before']:.4g} -> {alert['value_after']:.4g}"
        lines.append(
            f"| {first_night[alert['id']]} | {alert['kind']} | `{alert['benchmark']}` | {params} | {change} "
            f"| {'yes' if alert['resolved'] else 'no'} "
            f"| {cause_text(alert.get('cause'))} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--nights", type=int, default=15)
    parser.add_argument(
        "--threads-from", type=int, default=6, help="night from which threads are halved (0: never)"
    )
    parser.add_argument(
        "--flush-from", type=int, default=9, help="night from which subnormals are flushed (0: never)"
    )
    parser.add_argument(
        "--upgrade-from", type=int, default=12, help=f"night that runs torch {NEW_TORCH} (0: never)"
    )
    parser.add_argument(
        "--bench", action="append", help="asv --bench regex (repeatable; default: a small grid)"
    )
    parser.add_argument(
        "--python", type=Path, help="run in this Python's environment instead of WORKDIR/venv"
    )
    args = parser.parse_args(argv)
    if args.python and args.upgrade_from:
        parser.error("--upgrade-from installs torch: it needs the simulation's own venv (no --python)")

    args.workdir.mkdir(parents=True, exist_ok=True)
    python = args.python or make_venv(args.workdir / "venv")
    reset(args.workdir, python, own_venv=args.python is None)
    checkout, url = snapshot(args.workdir), f"sqlite:///{args.workdir / 'sqrtwatch.db'}"
    print(
        f"python {python}: torch {torch_version(python)}; load average {os.getloadavg()[0]:.2f}", flush=True
    )
    first_night: dict[int, int] = {}
    alerts: list[dict] = []
    log: list[dict] = []
    for night in plan(args):
        apply_changes(night, args, python)
        start = time.perf_counter()
        alerts = run_night(night, args, python, checkout, url)
        new = [alert for alert in alerts if alert["id"] not in first_night]
        for alert in new:
            first_night[alert["id"]] = night.index
        events = f" [{'; '.join(night.events)}]" if night.events else ""
        print(
            f"night {night.index:2d}{events}: {len(new)} new alerts ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
        for alert in new:
            change = f"{alert['value_before']:.4g} -> {alert['value_after']:.4g}"
            print(f"  {alert['kind']} {alert['benchmark']} {change}: {cause_text(alert.get('cause'))}")
        log.append({"night": night.index, "events": night.events, "new_alerts": [a["id"] for a in new]})
        (args.workdir / "nights.json").write_text(json.dumps(log, indent=2) + "\n")
    table = alert_table(alerts, first_night)
    (args.workdir / "alerts.md").write_text(table + "\n")
    (args.workdir / "alerts.json").write_text(json.dumps(alerts, indent=2) + "\n")
    print(table)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SimulationError as error:
        sys.exit(f"simulate_nights: {error}")
