"""Widgets whose value lives in the URL (``st.query_params``), so a view is a shareable link.

Each widget reads its starting value from the query string, falls back to a
default when the URL names an option that does not exist (an old link, a typo),
and writes the chosen value back into the query string.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_PREFIX = "url:"


def _seed(key: str, value: Any) -> None:
    """Give the widget ``key`` its starting value unless the user already changed it."""
    state_key = _PREFIX + key
    if state_key not in st.session_state:
        st.session_state[state_key] = value


def _matching(options: Sequence[Any], wanted: str | None, url_text: Callable[[Any], str] = str) -> Any | None:
    """The option whose URL text is ``wanted`` (query-string values are always strings)."""
    for option in options:
        if url_text(option) == wanted:
            return option
    return None


def url_select(
    label: str,
    options: Sequence[Any],
    key: str,
    default: Any | None = None,
    *,
    where: Any = st.sidebar,
    format_func: Callable[[Any], str] = str,
    url_text: Callable[[Any], str] = str,
    help: str | None = None,
) -> Any:
    """A searchable selectbox bound to the query parameter ``key`` (holding ``url_text(value)``).

    Returns the chosen option, or None when there are no options."""
    options = list(options)
    if not options:
        st.query_params.pop(key, None)
        return None
    fallback = default if default in options else options[0]
    state_key = _PREFIX + key
    if state_key in st.session_state and st.session_state[state_key] not in options:
        del st.session_state[state_key]  # the options changed under the widget
    from_url = _matching(options, st.query_params.get(key), url_text)
    _seed(key, fallback if from_url is None else from_url)
    value = where.selectbox(label, options, key=state_key, format_func=format_func, help=help)
    st.query_params[key] = url_text(value)
    return value


def url_multiselect(
    label: str,
    options: Sequence[Any],
    key: str,
    default: Sequence[Any] = (),
    *,
    where: Any = st.sidebar,
    help: str | None = None,
) -> list[Any]:
    """A multiselect bound to the repeated query parameter ``key``."""
    options = list(options)
    state_key = _PREFIX + key
    if state_key in st.session_state:
        kept = [value for value in st.session_state[state_key] if value in options]
        if kept != st.session_state[state_key]:
            st.session_state[state_key] = kept
    from_url = [
        match for wanted in st.query_params.get_all(key) if (match := _matching(options, wanted)) is not None
    ]
    _seed(key, from_url if from_url else [value for value in default if value in options])
    values = where.multiselect(label, options, key=state_key, help=help)
    st.query_params[key] = [str(value) for value in values]
    return values


def url_toggle(
    label: str,
    key: str,
    default: bool = False,
    *,
    where: Any = st.sidebar,
    disabled: bool = False,
    help: str | None = None,
) -> bool:
    """A toggle bound to the query parameter ``key`` (``1`` / ``0``); always off while disabled."""
    wanted = st.query_params.get(key)
    _seed(key, default if wanted not in ("0", "1") else wanted == "1")
    value = where.toggle(label, key=_PREFIX + key, disabled=disabled, help=help) and not disabled
    st.query_params[key] = "1" if value else "0"
    return value


def url_text(label: str, key: str, *, where: Any = st.sidebar, placeholder: str | None = None) -> str:
    """A text input bound to the query parameter ``key`` (removed from the URL when empty)."""
    _seed(key, st.query_params.get(key, ""))
    value = where.text_input(label, key=_PREFIX + key, placeholder=placeholder)
    if value:
        st.query_params[key] = value
    else:
        st.query_params.pop(key, None)
    return value
