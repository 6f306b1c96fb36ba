"""Special values: an exact table checked on its own, never folded into ulp statistics.

Every case runs in four layouts, because vectorized kernels have separate code for
the vector body, the scalar tail and strided access: alone in a 1-element tensor,
inside a long tensor (in the body and as the last element) and in a strided view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from sqrtwatch.accuracy.numerics import (
    RealFormat,
    component_format,
    ieee_mode,
    is_complex,
    sqrt_reference_float64,
)
from sqrtwatch.accuracy.sweep import call_impl

LAYOUTS = ("single", "body", "tail", "strided")
LONG_LENGTH = 1031  # odd and prime: the last element falls outside any vector width
BODY_INDEX = 64
STRIDE = 3
FILLER = 4.0  # a harmless input whose root is exact


@dataclass(frozen=True)
class SpecialCase:
    """One input and its required result; ``any_sign_imag`` for C99's unspecified signs."""

    name: str
    value: complex | float
    expected: complex | float
    any_sign_imag: bool = False


def real_cases(fmt: RealFormat) -> list[SpecialCase]:
    """IEEE 754 sqrt at the edges of ``fmt``; expected roots are exact (correctly rounded)."""
    tiny_subnormal = 2.0 ** (fmt.emin - fmt.mantissa_bits)
    smallest_normal = 2.0**fmt.emin
    largest = (2.0 - 2.0**-fmt.mantissa_bits) * 2.0**fmt.emax
    values = {
        "+0": 0.0,
        "-0": -0.0,
        "smallest subnormal": tiny_subnormal,
        "largest subnormal": smallest_normal - tiny_subnormal,
        "smallest normal": smallest_normal,
        "1": 1.0,
        "4": 4.0,
        "largest finite": largest,
        "+inf": math.inf,
        "-smallest subnormal": -tiny_subnormal,
        "-1": -1.0,
        "-largest finite": -largest,
        "-inf": -math.inf,
        "NaN": math.nan,
        "-NaN": -math.nan,
    }
    # The float64 MPFR roots of these values, rounded to fmt, are correctly rounded:
    # every value is exact in fmt and 53 >= 2p + 2 (see numerics.py).
    roots, _ = sqrt_reference_float64(np.array(list(values.values()), dtype=np.float64))
    rounded = torch.from_numpy(roots).to(fmt.torch_dtype()).double().tolist()
    return [SpecialCase(name, value, root) for (name, value), root in zip(values.items(), rounded)]


def complex_cases(fmt: RealFormat) -> list[SpecialCase]:
    """C99 Annex G.6.4.2 ``csqrt`` cases and both sides of the branch cut."""
    inf, nan = math.inf, math.nan
    eps = 2.0**fmt.emin  # e/4 is a subnormal, exact in fmt
    cases = [
        SpecialCase("+0+0i", complex(0.0, 0.0), complex(0.0, 0.0)),
        SpecialCase("-0+0i", complex(-0.0, 0.0), complex(0.0, 0.0)),
        SpecialCase("+0-0i", complex(0.0, -0.0), complex(0.0, -0.0)),
        SpecialCase("-0-0i", complex(-0.0, -0.0), complex(0.0, -0.0)),
        SpecialCase("1+inf*i", complex(1.0, inf), complex(inf, inf)),
        SpecialCase("1-inf*i", complex(1.0, -inf), complex(inf, -inf)),
        SpecialCase("-inf+inf*i", complex(-inf, inf), complex(inf, inf)),
        SpecialCase("nan+inf*i", complex(nan, inf), complex(inf, inf)),
        SpecialCase("1+nan*i", complex(1.0, nan), complex(nan, nan)),
        SpecialCase("-inf+1i", complex(-inf, 1.0), complex(0.0, inf)),
        SpecialCase("-inf-1i", complex(-inf, -1.0), complex(0.0, -inf)),
        SpecialCase("+inf+1i", complex(inf, 1.0), complex(inf, 0.0)),
        SpecialCase("+inf-1i", complex(inf, -1.0), complex(inf, -0.0)),
        SpecialCase("-inf+nan*i", complex(-inf, nan), complex(nan, inf), any_sign_imag=True),
        SpecialCase("+inf+nan*i", complex(inf, nan), complex(inf, nan)),
        SpecialCase("nan+1i", complex(nan, 1.0), complex(nan, nan)),
        SpecialCase("nan+nan*i", complex(nan, nan), complex(nan, nan)),
        # The branch cut: the sign of a zero imaginary part picks the side.
        SpecialCase("-4+0i", complex(-4.0, 0.0), complex(0.0, 2.0)),
        SpecialCase("-4-0i", complex(-4.0, -0.0), complex(0.0, -2.0)),
        SpecialCase("4+0i", complex(4.0, 0.0), complex(2.0, 0.0)),
        # Just off the cut: sqrt(-4 + e*i) = e/4 + 2i to far better than half an ulp.
        SpecialCase("-4+eps*i", complex(-4.0, eps), complex(eps / 4, 2.0)),
        SpecialCase("-4-eps*i", complex(-4.0, -eps), complex(eps / 4, -2.0)),
    ]
    return cases


def cases_for(dtype: str) -> list[SpecialCase]:
    fmt = component_format(dtype)
    return complex_cases(fmt) if is_complex(dtype) else real_cases(fmt)


def _layout_inputs(value, layout: str, dtype):
    """``(tensor, index)``: ``value`` placed in a tensor of the given layout."""
    if layout == "single":
        return torch.tensor([value], dtype=dtype), 0
    if layout in ("body", "tail"):
        x = torch.full((LONG_LENGTH,), FILLER, dtype=dtype)
        index = BODY_INDEX if layout == "body" else LONG_LENGTH - 1
        x[index] = value
        return x, index
    base = torch.full((LONG_LENGTH * STRIDE,), FILLER, dtype=dtype)
    x = base[1::STRIDE]
    x[BODY_INDEX] = value
    return x, BODY_INDEX


def _same(got: float, expected: float, any_sign: bool = False) -> bool:
    """Bitwise equality of two floats of the same format; NaNs are all equal."""
    if math.isnan(got) or math.isnan(expected):
        return math.isnan(got) and math.isnan(expected)
    if any_sign:
        return abs(got) == abs(expected)
    return got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)


def _matches(got, case: SpecialCase) -> bool:
    if isinstance(case.expected, complex):
        return _same(got.real, case.expected.real) and _same(got.imag, case.expected.imag, case.any_sign_imag)
    return _same(got, case.expected)


def _describe(value) -> str:
    return repr(complex(value)) if isinstance(value, complex) else repr(float(value))


def check_special_values(fn, name: str, dtype: str, device: str) -> dict:
    """Run every special case of ``dtype`` in every layout: ``{tested, failed, cases}``.

    ``cases`` lists the failing cases with what each layout returned."""
    torch_dtype = getattr(torch, dtype)
    failures = []
    with ieee_mode():  # the table's subnormals and roots, whatever mode the implementation set
        cases = cases_for(dtype)
    for case in cases:
        got = {}
        for layout in LAYOUTS:
            # Python floats convert to the dtype, and results back, with subnormals honoured:
            # in a flushed mode the subnormal cases would already be 0 going in.
            with ieee_mode():
                x, index = _layout_inputs(case.value, layout, torch_dtype)
            result = call_impl(fn, x, device, name)
            with ieee_mode():
                got[layout] = result[index].item()
        wrong = [layout for layout in LAYOUTS if not _matches(got[layout], case)]
        if wrong:
            failures.append(
                {
                    "case": case.name,
                    "input": _describe(case.value),
                    "expected": _describe(case.expected),
                    "got": {layout: _describe(got[layout]) for layout in LAYOUTS},
                    "failing_layouts": wrong,
                }
            )
    return {"tested": len(cases), "failed": len(failures), "layouts": list(LAYOUTS), "cases": failures}
