"""nnviz: see what a hidden layer's activation function does to what a network learns.

Wiring only: the widgets, state and panels live in nnviz/ui/, the figures in nnviz/plots.py and
the numeric core in nnviz/. Run with `make run` (streamlit run app.py).
"""

import streamlit as st
import torch

from nnviz.config import Config
from nnviz.ui import inside, panels, sidebar, state, zoo
from nnviz.ui.panels import guarded

st.set_page_config(page_title="nnviz · activation functions side by side", page_icon="🧠", layout="wide")
torch.set_num_threads(1)  # the networks are tiny; one thread leaves the other core to the server

state.init_session()
# The controls are drawn last (their values live in the session state): the browser then gets the
# comparison before the ~25 sidebar widgets, which it would otherwise render first.
previous = st.session_state[state.CONFIG]
requested = sidebar.requested_config(previous)
cfg, cap_notices = Config.from_params(requested.to_params())
exp = state.experiment(cfg)
if exp is not None:
    state.sync_url(exp.cfg)

st.html(panels.PAGE_CSS)  # static CSS only: no user text is ever rendered as HTML
st.markdown("#### nnviz · what the activation function does to what a network learns")
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
    sidebar.render_sidebar()
    st.stop()

preset = sidebar.active_preset(exp.cfg)
if preset is not None:
    st.info(f"**{preset.title}.** {preset.explanation}")

# Only the open tab runs (on_change="rerun"): a page load computes one view, not six.
# Training runs live on the Compare tab; the other views show the state when they were opened.
TABS = ("Compare", "Diagnostics", "Neurons", "Replay", "Seeds", "Activation zoo")
tabs = st.tabs(TABS, key="main_tab", on_change="rerun")
if tabs[0].open:
    with tabs[0]:
        show_val, discretize = panels.render_controls(exp)
        exp = st.session_state[state.EXPERIMENT]  # Reset may have replaced it
        panels.render_live(exp, show_val, discretize)
        exports = st.expander(
            "Export: CSV, config, weights, HTML report, data", icon=":material/download:", key="exports",
            on_change="rerun",
        )  # fmt: skip
        if exports.open:  # built only when opened
            with exports:
                guarded("The exports", panels.render_exports, exp)
views = (panels.render_diagnostics, inside.render_neurons, inside.render_replay, inside.render_seeds)
for tab, name, view in zip(tabs[1:5], TABS[1:5], views, strict=False):
    if tab.open:
        with tab:
            guarded(f"The {name} view", view, exp)
if tabs[5].open:
    with tabs[5]:
        guarded("The activation zoo", zoo.render_zoo)

sidebar.render_sidebar()
