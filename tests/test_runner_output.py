"""asv's console output as ``sqrtwatch run`` relays it: skip lines summarised, the rest kept."""

from __future__ import annotations

import io
import sys
from collections import Counter

from sqrtwatch import asv_output


def test_skip_reason_is_read_from_asv_skip_lines_only():
    assert (
        asv_output.skip_reason("              asv: skipped: NotImplementedError('no CUDA device')\n")
        == "no CUDA device"
    )
    assert (
        asv_output.skip_reason('asv: skipped: NotImplementedError("MPS has no float64")')
        == "MPS has no float64"
    )
    assert asv_output.skip_reason("asv: skipped: NotImplementedError()") == "no reason given"
    assert asv_output.skip_reason("[ 50.00%] ··· bench_throughput.Sqrt.time_sqrt   ok\n") is None
    assert asv_output.skip_reason("ValueError: asv: skipped: NotImplementedError('x')\n") is None


def test_relay_drops_skip_blocks_keeps_every_other_line_in_order_and_counts_reasons():
    lines = [
        "· Discovering benchmarks\n",
        "[76.67%] ···· For parameters: 'cuda', 'float16'\n",
        "              asv: skipped: NotImplementedError('no CUDA device')\n",
        "              \n",
        "              For parameters: 'cpu', 'float16'\n",
        "              Traceback (most recent call last):\n",
        "              ValueError: boom\n",
        "              \n",
        "              For parameters: 'cpu', 'float64'\n",
        "              asv: skipped: NotImplementedError('outside the quick profile')\n",
        "              \n",
        "              For parameters: 'mps', 'float64'\n",
        "              asv: skipped: NotImplementedError('no CUDA device')\n",
    ]
    out = io.StringIO()
    skipped = asv_output.relay(lines, out)
    assert out.getvalue() == "".join(lines[i] for i in (0, 4, 5, 6, 7))
    assert skipped == Counter({"no CUDA device": 2, "outside the quick profile": 1})
    assert (
        asv_output.skip_summary(skipped)
        == "skipped 2 cells: no CUDA device\nskipped 1 cell: outside the quick profile\n"
    )


def test_run_relayed_passes_a_real_process_output_through_and_returns_its_status(capsys):
    script = (
        "print('kept'); print(\"asv: skipped: NotImplementedError('no MPS device')\"); raise SystemExit(3)"
    )
    assert asv_output.run_relayed([sys.executable, "-c", script]) == 3
    assert capsys.readouterr().out == "kept\nskipped 1 cell: no MPS device\n"
