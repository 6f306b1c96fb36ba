"""asv's console output, trimmed: per-cell skip lines become one summary at the end.

``asv run --show-stderr`` prints each failing cell's traceback (worth seeing) but also one
``asv: skipped: NotImplementedError(...)`` line per skipped cell: hundreds per run, as every
CUDA and MPS cell skips on a CPU host and the quick profile skips most of the grid.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from typing import TextIO

SKIP_LINE = re.compile(r"^\s*asv: skipped: NotImplementedError\((?P<reason>.*)\)\s*$")
PARAMETERS_LINE = re.compile(r"(^|\s)For parameters: ")


def skip_reason(line: str) -> str | None:
    """The reason of an asv skip line (quotes stripped), or None for any other line."""
    match = SKIP_LINE.match(line)
    if match is None:
        return None
    reason = match["reason"]
    if len(reason) >= 2 and reason[0] == reason[-1] and reason[0] in "'\"":
        reason = reason[1:-1]
    return reason or "no reason given"


def relay(lines: Iterable[str], out: TextIO) -> Counter[str]:
    """Write ``lines`` to ``out`` without skip blocks; count the skip reasons.

    asv frames each cell's stderr as a ``For parameters: ...`` line, the output, then a blank
    line: a block whose output is just the skip line goes entirely.
    """
    skipped: Counter[str] = Counter()
    header: str | None = None  # a "For parameters" line held until we see what it frames
    after_skip = False
    for line in lines:
        reason = skip_reason(line)
        if reason is not None:
            skipped[reason] += 1
            header, after_skip = None, True
            continue
        if after_skip and not line.strip():
            after_skip = False
            continue
        after_skip = False
        if header is not None:
            out.write(header)
            header = None
        if PARAMETERS_LINE.search(line):
            header = line
            continue
        out.write(line)
        out.flush()
    if header is not None:
        out.write(header)
    return skipped


def skip_summary(skipped: Counter[str]) -> str:
    """One line per reason, most frequent first: ``skipped 420 cells: outside the quick profile``."""
    return "".join(
        f"skipped {count} cell{'s' * (count != 1)}: {reason}\n" for reason, count in skipped.most_common()
    )


def run_relayed(command: list[str], **popen_args) -> int:
    """Run ``command``, relaying its output without skip lines, then the skip summary; its exit status."""
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen_args
    ) as process:
        assert process.stdout is not None  # stdout=PIPE
        skipped = relay(process.stdout, sys.stdout)
    sys.stdout.write(skip_summary(skipped))
    return process.returncode
