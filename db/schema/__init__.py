"""The database schema: typed models, the engine that opens and migrates a database, Alembic migrations."""
