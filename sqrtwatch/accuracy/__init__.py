"""Exact, bit-for-bit accuracy checks of square-root implementations."""
