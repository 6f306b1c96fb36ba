"""``sqrtwatch dashboard``: serve the Streamlit app on a database.

The command becomes a ``streamlit run`` process; the database URL and the
read-only switch reach the app through the environment, so one code path serves
``make demo``, CI and a public deployment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_PATH = Path(__file__).resolve().parent / "app.py"
DB_ENV_VAR = "SQRTWATCH_DB"
READ_ONLY_ENV_VAR = "SQRTWATCH_READ_ONLY"
ADDRESS_ENV_VAR = "STREAMLIT_SERVER_ADDRESS"
_TRUE_WORDS = {"1", "true", "yes", "on"}


def read_only_from_env(environ: dict[str, str] | None = None) -> bool:
    """Whether SQRTWATCH_READ_ONLY asks for a read-only dashboard (1/true/yes/on)."""
    value = (environ if environ is not None else os.environ).get(READ_ONLY_ENV_VAR, "")
    return value.strip().lower() in _TRUE_WORDS


def streamlit_command(port: int, address: str = "localhost") -> list[str]:
    """The ``streamlit run`` command line: headless, no usage statistics, no browser."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--browser.gatherUsageStats",
        "false",
        "--server.runOnSave",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def serve(db_url: str, port: int, read_only: bool | None = None, address: str | None = None) -> None:
    """Print the dashboard's URL, then replace this process with its Streamlit server.

    ``read_only=None`` takes the value from SQRTWATCH_READ_ONLY (default: read-write).
    The server listens on ``address``, else STREAMLIT_SERVER_ADDRESS, else localhost only
    (a read-write dashboard should not be reachable from the network by accident).
    """
    address = address or os.environ.get(ADDRESS_ENV_VAR) or "localhost"
    if read_only is None:
        read_only = read_only_from_env()
    env = dict(os.environ)
    env[DB_ENV_VAR] = db_url
    env[READ_ONLY_ENV_VAR] = "1" if read_only else "0"
    mode = "read-only" if read_only else "read-write"
    print(f"sqrtwatch dashboard ({mode}) on {_hide_password(db_url)}: http://{address}:{port}", flush=True)
    # Become the Streamlit server (no wrapper process): Ctrl-C and SIGTERM reach it directly.
    command = streamlit_command(port, address)
    os.execve(command[0], command, env)


def _hide_password(db_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(db_url).render_as_string(hide_password=True)
