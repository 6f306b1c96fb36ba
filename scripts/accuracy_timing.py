"""Time the exhaustive float32 accuracy sweep (target: <= 60 s for torch.sqrt on 2 CPU cores).

Prints wall time, process CPU time and the load average before and after, because a
busy machine stretches the wall time: CPU seconds divided by the core count is what an
idle machine would take. Usage: python scripts/accuracy_timing.py [--impl torch.sqrt]
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default="torch.sqrt")
    parser.add_argument("--dtype", default="float32", choices=["float16", "bfloat16", "float32"])
    args = parser.parse_args()

    from sqrtwatch.accuracy.engine import check_accuracy

    load_before = os.getloadavg()
    wall, cpu = time.perf_counter(), time.process_time()
    report = check_accuracy(args.impl, args.dtype, "cpu", "exhaustive")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    load_after = os.getloadavg()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    print(f"{args.impl} {args.dtype} exhaustive: {report['inputs_tested']:,} inputs")
    print(
        f"  mismatches {report['mismatches']:,}  max ulp {report['max_ulp']:.6g}  mean ulp {report['mean_ulp']:.6g}"
    )
    print(f"  wall {wall:.1f} s  cpu {cpu:.1f} s  cores {cores}  idle-machine estimate {cpu / cores:.1f} s")
    print(
        f"  load average 1/5/15 min: before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}"
        f"  after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}"
    )
    print(f"  fingerprint {report['fingerprint']}")


if __name__ == "__main__":
    main()
