"""The start page: shown instead of every page while the database has nothing to show."""

from __future__ import annotations

import streamlit as st

from .data import DatabaseHealth


def render(health: DatabaseHealth) -> None:
    """Explain why there is nothing to show and the commands that fix it."""
    st.title("sqrtwatch")
    st.caption("Speed and correct rounding of torch.sqrt, run after run.")
    if health.error:
        st.error(f"Cannot open the database `{health.display_url}`: {health.error}")
        st.markdown(
            "Check the URL given with `sqrtwatch dashboard --db URL` or in `SQRTWATCH_DB` "
            "(a SQLite file such as `sqlite:///sqrtwatch.db`, or `postgresql+psycopg://user@host/db`)."
        )
        return
    st.info(f"The database `{health.display_url}` holds no benchmark results yet.")
    st.markdown("Fill it from this machine, then reload this page:")
    db_flag = f" --db '{health.display_url}'"
    st.code(
        "sqrtwatch run --quick                      # benchmark torch.sqrt here (a few minutes)\n"
        f"sqrtwatch ingest .sqrtwatch/results{db_flag}\n"
        f"sqrtwatch detect{db_flag}                  # find regressions and improvements",
        language="bash",
    )
    st.markdown(
        "`make demo` does all three and serves this dashboard. Results from CI runners are ingested the "
        "same way from their asv results directories; ingesting twice never duplicates a result."
    )
