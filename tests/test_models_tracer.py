"""The tracer's operator table on real traced calls: what takes a square root is found, nothing else."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from sqrtwatch.cli import main
from sqrtwatch.models import sqrt_ops, workload
from sqrtwatch.models.tracer import trace_callable


def found(fn) -> dict[str, int]:
    """Sqrt-computing operator overloads ``fn`` called, with call counts."""
    counts: dict[str, int] = {}
    for entry in trace_callable(fn).entries:
        counts[entry.op] = counts.get(entry.op, 0) + entry.calls
    return counts


x = torch.randn(8, 16)
images = torch.randn(2, 8, 3, 3)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: torch.sqrt(x.abs()), "aten.sqrt.default"),
        (lambda: x.abs().sqrt_(), "aten.sqrt_.default"),
        (lambda: torch.rsqrt(x.abs()), "aten.rsqrt.default"),
        (lambda: x.abs().pow(0.5), "aten.pow.Tensor_Scalar"),
        (lambda: x.abs().pow(-0.5), "aten.pow.Tensor_Scalar"),
        (lambda: torch.linalg.vector_norm(x, dim=-1), "aten.linalg_vector_norm.default"),
        (lambda: x.norm(dim=-1), "aten.linalg_vector_norm.default"),
        (lambda: torch.std(x, dim=-1), "aten.std.correction"),
        (lambda: torch.std_mean(x, dim=-1), "aten.std_mean.correction"),
        (lambda: F.layer_norm(x, (16,)), "aten.native_layer_norm.default"),
        (lambda: F.rms_norm(x, (16,)), "aten.rsqrt.default"),  # written out in aten on the CPU
        (lambda: F.batch_norm(images, None, None, training=True), "aten.native_batch_norm.default"),
        (lambda: F.group_norm(images, 2), "aten.native_group_norm.default"),
        (lambda: F.normalize(x, dim=-1), "aten.linalg_vector_norm.default"),
        (lambda: torch.cdist(x, x), "aten._cdist_forward.default"),
        (lambda: torch.cdist(torch.randn(30, 4), torch.randn(30, 4)), "aten._euclidean_dist.default"),
        (lambda: torch._foreach_sqrt([x.abs(), x.abs()]), "aten._foreach_sqrt.default"),
        (lambda: torch._foreach_norm([x, x]), "aten._foreach_norm.Scalar"),
    ],
)
def test_sqrt_computing_calls_are_found(call, expected):
    assert expected in found(call)


@pytest.mark.parametrize(
    "call",
    [
        lambda: F.dropout(x, 0.5, training=True),  # scaled by 1 / keep probability: a division
        lambda: torch.var(x, dim=-1),
        lambda: torch.linalg.vector_norm(x, ord=1, dim=-1),
        lambda: torch.linalg.vector_norm(x, ord=3, dim=-1),
        lambda: x.abs().pow(2),
        lambda: x.abs().pow(1.5),
        lambda: torch.cdist(x, x, p=1),
        lambda: torch.addcdiv(x, x, x.abs() + 1),
        lambda: F.scaled_dot_product_attention(
            torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8), torch.randn(1, 2, 4, 8)
        ),
    ],
)
def test_calls_that_take_no_square_root_are_not_reported(call):
    assert found(call) == {}


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"foreach": False}, "aten.sqrt.default"),
        ({"foreach": True}, "aten._foreach_sqrt.default"),
        ({"fused": True}, "aten._fused_adamw_.default"),
    ],
)
def test_adamw_step_in_each_form(form, expected):
    params = [torch.randn(4, requires_grad=True), torch.randn(3, requires_grad=True)]
    for p in params:
        p.grad = torch.randn_like(p)
    optimizer = torch.optim.AdamW(params, **form)
    assert expected in found(optimizer.step)


def test_every_table_entry_cites_where_the_root_is_taken():
    for packet, entry in sqrt_ops.SQRT_OPS.items():
        assert packet.startswith("aten."), packet
        assert ".cpp" in entry.where or ".h" in entry.where, packet


def test_example_step_finds_the_norms_and_adamw_and_not_dropout():
    from sqrtwatch.examples.transformer_step import step

    trace = trace_callable(step, warmup=1)
    ops = {entry.op: sum(e.calls for e in trace.entries if e.op == entry.op) for entry in trace.entries}
    assert "aten.native_layer_norm.default" in ops  # LayerNorm before the MLP
    assert "aten.rsqrt.default" in ops  # nn.RMSNorm, written out in aten on the CPU
    assert "aten._foreach_norm.Scalar" in ops  # clip_grad_norm_
    assert ops["aten.sqrt.default"] == 9  # AdamW for-loop: one per parameter tensor
    assert (
        trace.all_ops.get("aten.bernoulli_.float", 0) + trace.all_ops.get("aten.native_dropout.default", 0)
        > 0
    )
    assert not any("dropout" in op or "bernoulli" in op or "div" in op for op in ops)
    assert 0 < sum(e.share for e in trace.entries) < 1
    assert sum(e.seconds for e in trace.entries) <= trace.total_seconds


def test_trace_cli_writes_a_workload_that_replays(tmp_path):
    path = tmp_path / "workload.json"
    result = CliRunner().invoke(
        main, ["trace", "tests.test_models_tracer:layer_norm_step", "--format", "json", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())
    assert data["kind"] == "sqrtwatch-workload"
    [call] = workload.load_workload(path)
    assert call.label == "00 native_layer_norm 32x64 float32 cpu"
    out = workload.replay(call)()
    assert isinstance(out, tuple)
    assert out[0].shape == (32, 64)
    text = CliRunner().invoke(main, ["trace", "tests.test_models_tracer:layer_norm_step"])
    assert text.exit_code == 0 and "aten.native_layer_norm.default" in text.output


def layer_norm_step():
    """A user callable for the CLI test: one layer norm and a dropout."""
    return F.dropout(F.layer_norm(torch.ones(32, 64), (64,)), 0.1)


def failing_step():
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nosuchmodule:step", "cannot import"),
        ("tests.test_models_tracer:nothing", "has no attribute"),
        ("tests.test_models_tracer:failing_step", "raised RuntimeError: boom"),
    ],
)
def test_trace_cli_errors_are_one_line(target, message):
    result = CliRunner().invoke(main, ["trace", target])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_bad_workload_files_are_named_with_their_problem(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "other"}')
    with pytest.raises(workload.WorkloadError, match=r"bad\.json: not a sqrtwatch workload"):
        workload.load_workload(bad)
    result = CliRunner().invoke(main, ["run", "--workload", str(bad), "--results", str(tmp_path / "r")])
    assert result.exit_code == 1 and "not a sqrtwatch workload" in result.output
