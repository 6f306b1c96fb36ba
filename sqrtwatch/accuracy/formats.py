"""Binary floating-point formats checked by sqrtwatch: precision, exponent range, bit views.

The numbers follow IEEE 754 (and bfloat16's float32-like layout) and are the ones the
DESIGN.md ulp definition uses: ``p`` the precision, ``emin`` the smallest normal exponent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqrtwatch.vocabulary import COMPLEX_DTYPES, REAL_DTYPES  # noqa: F401 (re-exported)
from sqrtwatch.vocabulary import DTYPES as ALL_DTYPES  # noqa: F401 (re-exported)


@dataclass(frozen=True)
class RealFormat:
    """One binary floating-point format: its width, precision and exponent range."""

    name: str
    bits: int
    precision: int
    emin: int
    emax: int

    @property
    def mantissa_bits(self) -> int:
        return self.precision - 1

    @property
    def exponent_bits(self) -> int:
        return self.bits - self.precision

    @property
    def sign_mask(self) -> int:
        return 1 << (self.bits - 1)

    @property
    def exponent_field_max(self) -> int:
        """The all-ones exponent field, which encodes infinities and NaNs."""
        return (1 << self.exponent_bits) - 1

    @property
    def patterns(self) -> int:
        return 1 << self.bits

    def torch_dtype(self):
        import torch

        return getattr(torch, self.name)

    def int_dtype(self):
        """The signed integer dtype of the same width, used to view the bits."""
        import torch

        return {16: torch.int16, 32: torch.int32, 64: torch.int64}[self.bits]

    def unsigned(self, signed_bits: int) -> int:
        """A bit pattern read through a signed integer view, as an unsigned integer."""
        return signed_bits & (self.patterns - 1)

    def signed(self, unsigned_bits: int) -> int:
        """An unsigned bit pattern as the value of the signed integer view."""
        return unsigned_bits - self.patterns if unsigned_bits & self.sign_mask else unsigned_bits

    def hex(self, bits: int) -> str:
        """The bit pattern as zero-padded hex, e.g. ``0x3c00`` for float16 1.0."""
        return f"0x{self.unsigned(bits):0{self.bits // 4}x}"


FORMATS: dict[str, RealFormat] = {
    "float16": RealFormat("float16", 16, 11, -14, 15),
    "bfloat16": RealFormat("bfloat16", 16, 8, -126, 127),
    "float32": RealFormat("float32", 32, 24, -126, 127),
    "float64": RealFormat("float64", 64, 53, -1022, 1023),
}

# A complex dtype is a pair of components of this real format.
COMPONENT_FORMAT = {"complex64": FORMATS["float32"], "complex128": FORMATS["float64"]}


def component_format(dtype: str) -> RealFormat:
    """The real format of ``dtype`` itself, or of each component of a complex dtype."""
    return COMPONENT_FORMAT.get(dtype) or FORMATS[dtype]


def is_complex(dtype: str) -> bool:
    return dtype in COMPLEX_DTYPES
