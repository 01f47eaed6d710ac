"""The server ``make run`` starts: ``streamlit run serve.py`` serves app.py, plus the websocket that
streams the live boundary frames to the page (nnviz/ui/live.py). ``streamlit run app.py`` also
works; its live view then updates through Streamlit alone, at a lower frame rate."""

import streamlit as st

from nnviz.ui import live

app = st.App("app.py", routes=live.routes())
