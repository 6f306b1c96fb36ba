"""Streamlit dashboard; reads the database through sqrtwatch.db queries only."""
