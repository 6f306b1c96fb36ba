"""Ingest: asv results files and sqrtwatch context files into runs and values."""
