"""nnviz: see what a hidden layer's activation function does to what a network learns.

Wiring only: the widgets, state and panels live in nnviz/ui/, the figures in nnviz/plots.py and
the numeric core in nnviz/. Run with `make run` (streamlit run app.py).
"""

import streamlit as st
import torch

from nnviz.config import Config
from nnviz.ui import panels, sidebar, state

st.set_page_config(page_title="nnviz · activation functions side by side", page_icon="🧠", layout="wide")
torch.set_num_threads(1)  # the networks are tiny; one thread leaves the other core to the server

state.init_session()
requested = sidebar.render_sidebar(st.session_state[state.CONFIG])
cfg, cap_notices = Config.from_params(requested.to_params())
exp = state.experiment(cfg)
if exp is not None:
    state.sync_url(exp.cfg)

st.title("nnviz")
st.caption(
    "One network per activation, trained in lockstep from the same data, the same initial weights "
    "and the same minibatches: every difference you see is the activation's."
)
for notice in st.session_state.get(state.NOTICES, []):
    st.warning(f"URL: {notice}")
for notice in cap_notices:
    st.warning(notice)
if st.session_state.get(state.ERROR):
    st.error(st.session_state[state.ERROR])
if exp is None:
    st.stop()

compare, diagnostics, zoo = st.tabs(["Compare", "Diagnostics", "Activation zoo"])
with compare:
    show_val, discretize = panels.render_controls(exp)
    exp = st.session_state[state.EXPERIMENT]  # Reset may have replaced it
    panels.render_live(exp, show_val, discretize)
    st.subheader("Summary")
    panels.render_summary(exp)
with diagnostics:
    panels.render_diagnostics(exp)
with zoo:
    panels.render_zoo()
