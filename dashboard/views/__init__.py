"""Dashboard pages, run by st.navigation from app.py (not named pages/: Streamlit would treat that as a v1 multipage folder)."""
