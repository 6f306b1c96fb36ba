"""Example steps to trace with ``sqrtwatch trace`` (built in code, nothing downloaded)."""
