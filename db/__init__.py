"""Results database: schema, ingestion, queries, regression detection (no Streamlit here)."""
