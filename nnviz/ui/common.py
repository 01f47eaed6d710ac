"""What every part of the page shares: the failure boundary, the page's CSS and its layout width."""

from __future__ import annotations

import logging

import streamlit as st

LOG = logging.getLogger("nnviz")
MAIN_WIDTH = 880  # px of the main column at 1280 px with the sidebar open: figure heights follow it
PAGE_CSS = """<style>
.block-container { padding-top: 2.2rem; padding-bottom: 2rem; }
</style>"""


def guarded(part: str, render, *args) -> None:
    """Draw one part of the page; if it fails, say so there and let the rest of the page draw.

    Streamlit's own control flow (st.rerun, st.stop) uses BaseException and passes through.
    """
    try:
        render(*args)
    except Exception as exc:  # noqa: BLE001 - the UI boundary: show, log, carry on
        LOG.exception("%s failed", part)
        st.error(f"{part} could not be shown: {exc}")
