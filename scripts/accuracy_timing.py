"""Time the exhaustive float32 accuracy sweep against the implementation's own floor.

Prints, for the sweep (``check_accuracy``) and for the implementation alone called on
every bit pattern in the same chunks and threads (the floor no checking can beat):
wall time, process CPU time and the load average before and after, because a busy
machine stretches the wall time; then the counts, hard cases and floating-point mode.
Usage: python scripts/accuracy_timing.py [--impl torch.sqrt] [--skip-floor]
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor


def _timed(label: str, work):
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = os.getloadavg()
    print(
        f"{label}: wall {wall:.1f} s  cpu {cpu:.1f} s  load 1-min {load[0]:.2f} before, {after[0]:.2f} after"
    )
    return result


def impl_alone(impl: str, dtype: str) -> None:
    """Call the implementation on every pattern, as the sweep does, and check nothing."""
    import torch

    from sqrtwatch.accuracy.numerics import FORMATS
    from sqrtwatch.accuracy.sweep import CHUNK_PATTERNS, pattern_chunk
    from sqrtwatch.impls import load_impl

    fn, fmt = load_impl(impl), FORMATS[dtype]
    chunk = min(CHUNK_PATTERNS, fmt.patterns)
    workers = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            list(
                pool.map(
                    lambda start: fn(pattern_chunk(start, chunk, fmt)).numel(), range(0, fmt.patterns, chunk)
                )
            )
    finally:
        torch.set_num_threads(workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="torch.sqrt")
    parser.add_argument("--dtype", default="float32", choices=["float16", "bfloat16", "float32"])
    parser.add_argument("--skip-floor", action="store_true", help="Do not time the implementation alone.")
    args = parser.parse_args()

    from sqrtwatch.accuracy.engine import check_accuracy

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.impl} {args.dtype} exhaustive, {cores} cores")
    if not args.skip_floor:
        _timed("implementation alone", lambda: impl_alone(args.impl, args.dtype))
    report = _timed("sweep", lambda: check_accuracy(args.impl, args.dtype, "cpu", "exhaustive"))
    print(
        f"  inputs {report['inputs_tested']:,}  mismatches {report['mismatches']:,}  "
        f"max ulp {report['max_ulp']:.6g}  mean ulp {report['mean_ulp']:.6g}  "
        f"worst input {report['worst_input_bits']}"
    )
    hard = report["hard_cases"]
    print(
        f"  hard cases: {hard['tested']:,} tested, {hard['mismatches']:,} mismatches, max ulp {hard['max_ulp']}"
    )
    print(f"  fp mode {report['fp_mode']}")
    print(f"  fingerprint {report['fingerprint']}")


if __name__ == "__main__":
    main()
