"""The server ``make run`` starts: ``streamlit run serve.py`` serves app.py, plus the websocket that
streams the live boundary frames to the page (nnviz/ui/live/route.py). ``streamlit run app.py``
also works; its live view then updates through Streamlit alone, at a lower frame rate."""

import streamlit as st

from nnviz.ui.live import route

app = st.App("app.py", routes=route.routes())
