"""Alembic migrations of the sqrtwatch schema."""
