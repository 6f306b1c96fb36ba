"""Entry point of the sqrtwatch dashboard, run by ``streamlit run`` (see serve.py).

Declares the pages with ``st.navigation``; on a database without results it shows
the start page instead of any page, so a new user sees what to do next, not a traceback.
"""

import streamlit as st

from sqrtwatch.dashboard import data, start

st.set_page_config(page_title="sqrtwatch", page_icon=":material/monitoring:", layout="wide")

PAGES = [
    st.Page(
        "views/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=True
    ),
    st.Page("views/trends.py", title="Trends", icon=":material/show_chart:", url_path="trends"),
    st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("views/accuracy.py", title="Accuracy", icon=":material/target:", url_path="accuracy"),
    st.Page("views/models.py", title="Models", icon=":material/functions:", url_path="models"),
    st.Page("views/hardware.py", title="Hardware", icon=":material/memory:", url_path="hardware"),
    st.Page("views/alerts.py", title="Alerts", icon=":material/notifications:", url_path="alerts"),
]

page = st.navigation(PAGES)
health = data.database_health(data.database_url())
st.sidebar.caption(f"database: `{health.display_url}`" + (" · read-only" if data.read_only() else ""))
if health.ready:
    page.run()
else:
    start.render(health)
