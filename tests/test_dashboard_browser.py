"""End to end: the real ``sqrtwatch dashboard`` on a seeded database, every page in Debian's chromium.

Screenshots go to a temporary directory, or to SQRTWATCH_SCREENSHOTS_DIR when set
(``SQRTWATCH_SCREENSHOTS_DIR=docs/screenshots pytest tests/test_dashboard_browser.py``
refreshes the committed ones).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sqrtwatch.dashboard.serve import READ_ONLY_ENV_VAR
from tests import dashboard_seed

CHROMIUM = os.environ.get("SQRTWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# url path -> (text the page shows once its data is on screen, number of Plotly charts).
PAGES = {
    "overview": ("Latest run per machine", 2),
    "trends": ("Alerts on this series", 1),
    "compare": ("Ratio head / base", 1),
    "accuracy": ("Fingerprint changes", 1),
    "hardware": ("Alternatives vs torch.sqrt", 2),
    "alerts": ("Triage", 0),
}
# Rendered: the script run is over (no status widget, nothing stale) and every chart is drawn.
RENDERED = """charts => !document.querySelector('[data-testid="stStatusWidget"]')
    && !document.querySelector('[data-stale="true"]')
    && document.querySelectorAll('.js-plotly-plot .main-svg').length >= charts"""
# Views worth a screenshot: the machine and the series where the seeded regression is.
QUERIES = {
    "overview": "?machine=ci-linux",
    "trends": f"?bench={dashboard_seed.TIME_SQRT}&p.dtype=float32&p.size=1000000&p.variant=allocating",
    "compare": "?by=torch&base=2.12.0&head=2.13.0&machine=ci-linux",
}

pytestmark = pytest.mark.slow


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium not found at {CHROMIUM} (CI must install Debian's chromium)")
        pytest.skip(f"chromium not found at {CHROMIUM}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"sqrtwatch dashboard exited early:\n{output}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"no healthy dashboard at {base} after {timeout} s")


def save_screenshot(page, path: Path) -> None:
    """A PNG of the viewport, reduced to 128 colours (a third of the bytes, same look)."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The real ``sqrtwatch dashboard`` command serving a seeded SQLite file on a free loopback port."""
    _require_chromium()
    db = dashboard_seed.seed_database(tmp_path_factory.mktemp("browser"))
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != READ_ONLY_ENV_VAR}
    process = subprocess.Popen(
        [sys.executable, "-m", "sqrtwatch", "dashboard", "--db", f"sqlite:///{db}", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env | {"STREAMLIT_SERVER_ADDRESS": "127.0.0.1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_every_page_loads_without_an_exception(dashboard, browser, tmp_path):
    shots = Path(os.environ.get("SQRTWATCH_SCREENSHOTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    for path, (marker, charts) in PAGES.items():
        url = f"{dashboard}/" if path == "overview" else f"{dashboard}/{path}"  # the default page is the root
        page.goto(url + QUERIES.get(path, ""), wait_until="domcontentloaded")
        page.get_by_text(marker, exact=False).first.wait_for(timeout=60_000)
        page.wait_for_function(RENDERED, arg=charts, timeout=60_000)
        page.wait_for_timeout(500)  # let the last paint (fonts, chart transitions) settle
        assert page.get_by_text("Page not found").count() == 0, path
        exceptions = page.locator('[data-testid="stException"]')
        assert exceptions.count() == 0, f"{path}: {exceptions.first.inner_text()}"
        save_screenshot(page, shots / f"{path}.png")
        if path == "trends":  # the detected regression is marked on the chart
            assert page.locator(".js-plotly-plot .legendtext", has_text="regression").count() == 1
    page.close()
