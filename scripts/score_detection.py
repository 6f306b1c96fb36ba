"""Score regression detection on the labelled corpus: sqrtwatch's detector vs asv.step_detect.

Both detectors see the same points: ok status, latest benchmark version, as
asv publish would plot them. asv gets its own weights (2 / CI width, from
asv_runner.statistics) and its default 5 % regression threshold. A detection
counts as found when it points at most one commit before and two after the
true change (anywhere along a drift); every other regression reported is a
false alarm, charged to the series' scenario, or to "run-wide" when it sits
on a run-wide shift.

    python scripts/make_corpus.py --out .sqrtwatch/corpus.json
    python scripts/score_detection.py .sqrtwatch/corpus.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from asv.step_detect import detect_regressions, detect_steps
from asv_runner.statistics import compute_stats

from sqrtwatch.db.detection.changepoints import DetectionConfig, find_changes
from sqrtwatch.db.detection.runwide import find_run_wide_shifts
from sqrtwatch.db.detection.series import usable_points

ASV_THRESHOLD = 0.05  # asv's default regressions_thresholds
RECALL_KINDS = ("step_small", "step_medium", "step_large", "drift", "newest")


def sqrtwatch_regressions(group: dict, config: DetectionConfig) -> list[list[int]]:
    """First commit index of every regression sqrtwatch reports, per series."""
    usable = [usable_points(s["status"], s["version"]) for s in group["series"]]
    matrix = np.array(
        [
            [v if ok else np.nan for v, ok in zip(s["values"], mask)]
            for s, mask in zip(group["series"], usable)
        ],
        dtype=float,
    )
    _, divisors = find_run_wide_shifts(matrix, config.min_effect)
    found = []
    for s, mask, divisor in zip(group["series"], usable, divisors):
        index = np.flatnonzero(mask & ~np.isnan(divisor))
        values = [s["values"][i] / divisor[i] for i in index]
        samples = [[x / divisor[i] for x in s["samples"][i]] for i in index]
        changes = find_changes(values, samples, config)
        found.append([int(index[c.after]) for c in changes if c.ratio > 1])
    return found


def asv_regressions(group: dict) -> list[list[int]]:
    """First commit index of every regression asv's step detection reports, per series."""
    found = []
    for s in group["series"]:
        index = np.flatnonzero(usable_points(s["status"], s["version"]))
        y = [s["values"][i] for i in index]
        weights = []
        for i in index:
            _, stats = compute_stats(s["samples"][i], 1)
            width = abs(stats["ci_99_b"] - stats["ci_99_a"]) if stats else 0
            weights.append(2 / width if width and np.isfinite(width) else None)
        _, _, positions = detect_regressions(detect_steps(y, weights), ASV_THRESHOLD)
        found.append([int(index[after]) for _, after, _, _ in positions or []])
    return found


def score(corpus: dict, detector) -> tuple[Counter, Counter, Counter]:
    """Per kind: true regressions, those found, and false alarms."""
    truth: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    false_alarms: Counter[str] = Counter()
    for group in corpus["groups"]:
        for s, detections in zip(group["series"], detector(group)):
            remaining = list(detections)
            for change in s["changes"]:
                truth[s["scenario"]] += 1
                match = [d for d in remaining if change["first"] - 1 <= d <= change["last"] + 2]
                if match:
                    hits[s["scenario"]] += 1
                    remaining.remove(match[0])
            for d in remaining:
                on_shift = any(abs(d - run) <= 1 for run in group["run_wide_shifts"])
                false_alarms["run-wide" if on_shift else s["scenario"]] += 1
    return truth, hits, false_alarms


def f1(truth: Counter, hits: Counter, false_alarms: Counter) -> tuple[float, float, float]:
    found, reported = sum(hits.values()), sum(hits.values()) + sum(false_alarms.values())
    recall = found / max(sum(truth.values()), 1)
    precision = found / reported if reported else 1.0
    return recall, precision, 2 * recall * precision / (recall + precision) if recall + precision else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path)
    args = parser.parse_args()
    try:
        corpus = json.loads(args.corpus.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        sys.exit(f"{args.corpus}: cannot read the corpus ({exc}); write it with scripts/make_corpus.py")
    config = DetectionConfig()
    ours = score(corpus, lambda g: sqrtwatch_regressions(g, config))
    theirs = score(corpus, asv_regressions)
    series = Counter(s["scenario"] for g in corpus["groups"] for s in g["series"])
    groups = len(corpus["groups"])
    shifts = sum(len(g["run_wide_shifts"]) for g in corpus["groups"])
    print(
        f"corpus: {args.corpus} (seed {corpus['seed']}), {groups} groups, {sum(series.values())} series, "
        f"{shifts} run-wide shifts\n"
    )
    print(
        "| kind | series | true regressions | recall sqrtwatch | recall asv | false alarms sqrtwatch | false alarms asv |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    kinds = sorted(set(series) | {"run-wide"}, key=lambda k: (k not in RECALL_KINDS, k))
    for kind in kinds:
        true = ours[0][kind]

        def recall_text(hits, kind=kind, true=true):
            return f"{hits[kind] / true:.2f}" if true else "-"

        print(
            f"| {kind} | {series.get(kind, shifts) if kind != 'run-wide' else shifts} | {true} | "
            f"{recall_text(ours[1])} | {recall_text(theirs[1])} | {ours[2][kind]} | {theirs[2][kind]} |"
        )
    print()
    print("| detector | recall | precision | F1 | false alarms |")
    print("|---|---:|---:|---:|---:|")
    for name, result in (("sqrtwatch", ours), ("asv.step_detect", theirs)):
        recall, precision, score_f1 = f1(*result)
        print(f"| {name} | {recall:.3f} | {precision:.3f} | {score_f1:.3f} | {sum(result[2].values())} |")


if __name__ == "__main__":
    main()
