"""Comparison: two selections of runs side by side, with each series' run-to-run noise."""
