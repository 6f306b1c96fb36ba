"""Running totals of one accuracy sweep: mismatches, ulp statistics, worst input, fingerprint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

FINGERPRINT_ALGORITHM = "sha256"  # hardware-accelerated on current x86 and ARM CPUs


@dataclass
class Tally:
    """Counts and ulp statistics accumulated chunk by chunk.

    ``max_ulp``/``mean_ulp`` cover only inputs whose correct result is finite and
    positive and whose computed result is finite (DESIGN.md); the worst input is the
    first one reaching ``max_ulp``.
    """

    inputs_tested: int = 0
    mismatches: int = 0
    ulp_count: int = 0
    ulp_sum: float = 0.0
    max_ulp: float | None = None
    worst_input_bits: int | None = None
    # Complex dtypes only: |result - exact| / |exact| over inputs with a finite result.
    normwise_count: int = 0
    normwise_sum: float = 0.0
    normwise_max: float | None = None

    def add_counts(self, inputs: int, mismatches: int) -> None:
        self.inputs_tested += inputs
        self.mismatches += mismatches

    def add_ulp_errors(self, count: int, total: float, chunk_max: float, worst_bits: int | None) -> None:
        """Fold in one chunk's ulp errors: their number, sum, maximum and its input."""
        if count == 0:
            return
        self.ulp_count += count
        self.ulp_sum += total
        if self.max_ulp is None or chunk_max > self.max_ulp:
            self.max_ulp = chunk_max
            self.worst_input_bits = worst_bits

    def add_normwise_errors(self, count: int, total: float, chunk_max: float) -> None:
        if count == 0:
            return
        self.normwise_count += count
        self.normwise_sum += total
        self.normwise_max = chunk_max if self.normwise_max is None else max(self.normwise_max, chunk_max)

    def merge(self, other: Tally) -> None:
        """Fold in the tally of a later chunk (order matters only for the worst input's tie)."""
        self.add_counts(other.inputs_tested, other.mismatches)
        if other.max_ulp is not None:
            self.add_ulp_errors(other.ulp_count, other.ulp_sum, other.max_ulp, other.worst_input_bits)
        if other.normwise_max is not None:
            self.add_normwise_errors(other.normwise_count, other.normwise_sum, other.normwise_max)

    @property
    def normwise_mean(self) -> float | None:
        return self.normwise_sum / self.normwise_count if self.normwise_count else None

    @property
    def mean_ulp(self) -> float | None:
        return self.ulp_sum / self.ulp_count if self.ulp_count else None

    @property
    def mismatch_fraction(self) -> float:
        return self.mismatches / self.inputs_tested if self.inputs_tested else 0.0


@dataclass
class Fingerprint:
    """A hash of every output bit of a sweep, in input order.

    Each chunk is fed either as its raw bytes or, when every output in it has the same
    bits (the NaNs of a negative range), as that one value and a count: the encoding
    is a function of the outputs alone, so equal fingerprints mean equal outputs.
    """

    _hash: hashlib._Hash = field(default_factory=lambda: hashlib.new(FINGERPRINT_ALGORITHM))

    def update(self, output_bits) -> None:
        """Feed one chunk's outputs (an integer tensor of their bit patterns, on the CPU)."""
        self._hash.update(b"R")
        self._hash.update(output_bits.contiguous().numpy())  # buffer, no copy

    def update_constant(self, value_bits: int, count: int, width_bytes: int) -> None:
        """Feed ``count`` outputs that all have the bit pattern ``value_bits``."""
        self._hash.update(b"C")
        self._hash.update(count.to_bytes(8, "little"))
        self._hash.update(value_bits.to_bytes(width_bytes, "little", signed=True))

    def hexdigest(self) -> str:
        return f"{FINGERPRINT_ALGORITHM}:{self._hash.hexdigest()}"


@dataclass
class RecordedOutputs:
    """Stands in for a :class:`Fingerprint` in a worker thread; replayed in input order later."""

    updates: list = field(default_factory=list)

    def update(self, output_bits) -> None:
        self.updates.append(("bits", output_bits))

    def update_constant(self, value_bits: int, count: int, width_bytes: int) -> None:
        self.updates.append(("constant", (value_bits, count, width_bytes)))

    def replay(self, fingerprint: Fingerprint) -> None:
        for kind, payload in self.updates:
            if kind == "bits":
                fingerprint.update(payload)
            else:
                fingerprint.update_constant(*payload)
