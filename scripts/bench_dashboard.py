"""Time every dashboard page's server-side work on the 1,000-file synthetic database; prints the figures.

    .venv/bin/python scripts/bench_dashboard.py [--commits 1000] [--benchmarks 200] [--db URL] [--repeat 3]

Builds the database with the synthetic history of scripts/synthetic_history.py
(1,000 results files x 200 benchmarks x 10 parameter combinations) plus the
dashboard tests' hand-written results (throughput, accuracy, alerts), unless
--db names an existing one. Each page runs in Streamlit's AppTest: "cold" with
every cache cleared (engine, queries), "warm" as the median of reruns.
Targets (issue 7): < 3 s cold, < 1 s warm per page.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO)]
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest outside a server warns on every run

PAGES = ["overview", "trends", "compare", "accuracy", "models", "hardware", "alerts"]
# Views of the 1,000-commit synthetic history (the biggest series and comparison there are).
QUERIES = {
    "trends": {"bench": "bench_synthetic.Suite0.time_case_000", "p.dtype": "float32", "p.size": "1048576"},
    "compare": {"by": "commit", "machine": "synthetic.host-1"},
}
COLD_TARGET_S, WARM_TARGET_S = 3.0, 1.0


def build_database(directory: Path, commits: int, benchmarks: int) -> str:
    """Write and ingest the synthetic history and the hand-written results; return the URL."""
    from synthetic_history import write_history

    from sqrtwatch.db.detection.detect import detect_alerts
    from sqrtwatch.db.ingest.directory import ingest_results_dir
    from sqrtwatch.db.schema.engine import connect
    from tests import dashboard_seed

    url = f"sqlite:///{directory / 'bench.db'}"
    engine = connect(url)
    start = time.perf_counter()
    write_history(directory / "synthetic" / "results", commits, benchmarks, n_samples=0)
    seed_results = dashboard_seed.write_results(directory / "seed")
    for results in (directory / "synthetic" / "results", seed_results):
        report = ingest_results_dir(engine, results)
        if report.errors:
            raise SystemExit(f"ingest failed: {report.errors[:3]}")
    print(f"database: {commits} + 16 results files ingested in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    summary = detect_alerts(engine, thresholds={})
    print(f"detect: {summary.summary()} in {time.perf_counter() - start:.1f} s")
    engine.dispose()
    return url


def time_page(page: str, repeat: int, queries: dict[str, dict[str, str]] = QUERIES) -> tuple[float, float]:
    """Seconds of one cold run and the median of ``repeat`` warm reruns of ``page`` (URL ``queries`` per page)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from sqrtwatch.dashboard.serve import APP_PATH

    st.cache_data.clear()
    st.cache_resource.clear()
    app = AppTest.from_file(str(APP_PATH), default_timeout=600)
    app.query_params.update(queries.get(page, {}))
    app.switch_page(f"views/{page}.py")
    start = time.perf_counter()
    app.run()
    cold = time.perf_counter() - start
    if app.exception:
        raise SystemExit(f"{page}: {app.exception[0].message}")
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        app.run()
        warm.append(time.perf_counter() - start)
    return cold, statistics.median(warm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--benchmarks", type=int, default=200)
    parser.add_argument("--db", help="an existing database URL to time instead of building one")
    parser.add_argument("--keep", type=Path, help="build the database in this directory and keep it")
    parser.add_argument("--repeat", type=int, default=3, help="warm reruns per page")
    args = parser.parse_args()

    print(f"load average: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="sqrtwatch-bench-dashboard-") as tmp:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        url = args.db or build_database(args.keep or Path(tmp), args.commits, args.benchmarks)
        os.environ["SQRTWATCH_DB"] = url
        # Imports (Streamlit, Plotly, pandas, SciPy, Alembic) are server start-up, not page work.
        import alembic.command  # noqa: F401
        import plotly.graph_objects  # noqa: F401
        from streamlit.testing.v1 import AppTest

        import sqrtwatch.dashboard.data
        import sqrtwatch.db.comparison.compare  # noqa: F401

        AppTest.from_string("import streamlit as st\nst.write('warm-up')").run()

        print(
            f"{'page':<10} {'cold s':>7} {'warm s':>7}   (targets: cold < {COLD_TARGET_S:g} s, warm < {WARM_TARGET_S:g} s)"
        )
        failures = 0
        for page in PAGES:
            cold, warm = time_page(page, args.repeat)
            ok = cold < COLD_TARGET_S and warm < WARM_TARGET_S
            failures += not ok
            print(f"{page:<10} {cold:7.2f} {warm:7.2f}   {'ok' if ok else 'SLOW'}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
