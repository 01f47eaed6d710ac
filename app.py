"""nnviz: see what a hidden layer's activation function does to what a network learns.

Wiring only: the session, the sidebar, the tabs and the live view live in nnviz/ui/, the figures in
nnviz/figures/, the numeric core in nnviz/. Run with `make run` (streamlit run serve.py).
"""

import streamlit as st
import torch

from nnviz.ui import compare, diagnostics, draw, inside, network, sidebar, zoo
from nnviz.ui.common import PAGE_CSS, guarded
from nnviz.ui.live.view import render_live
from nnviz.ui.session import open_session, sync_url

st.set_page_config(page_title="nnviz · activation functions side by side", page_icon="🧠", layout="wide")
torch.set_num_threads(1)  # the networks are tiny; one thread leaves the other core to the server

s, new = open_session()
if new:
    sidebar.seed_widgets(s.config, s.preset)
s.live.script_runs += 1
# The controls are drawn last (their values live in the session state): the browser then gets the
# comparison before the ~25 sidebar widgets, which it would otherwise render first.
cfg, cap_notices = sidebar.requested_config(s.config).within_caps()
exp = s.experiment_for(cfg)
if exp is not None:
    sync_url(s)

st.html(PAGE_CSS)  # static CSS only: no user text is ever rendered as HTML
st.markdown("#### nnviz · what the activation function does to what a network learns")
st.caption(
    "One network per activation, trained in lockstep from the same data, the same initial weights "
    "and the same minibatches: every difference you see is the activation's."
)
for notice in s.url_notices:
    st.warning(f"URL: {notice}")
for notice in cap_notices:
    st.warning(str(notice))
if s.error:
    st.error(s.error)
if exp is None:
    sidebar.render_sidebar()
    st.stop()

preset = s.active_preset()
if preset is not None:
    st.info(f"**{preset.title}.** {preset.explanation}")

# Only the open tab runs (on_change="rerun"): a page load computes one view, not six.
# Training runs live on the Compare tab; the other views show the state when they were opened.
TABS = ("Compare", "Network", "Diagnostics", "Neurons", "Replay", "Seeds", "Activation zoo")
tabs = st.tabs(TABS, key="main_tab", on_change="rerun")
if tabs[0].open:
    with tabs[0]:
        show_val, discretize = compare.render_controls(exp)
        if not draw.render_canvas(s.experiment):  # (a drawing with too few points to train yet)
            render_live(s.experiment, show_val, discretize)  # (Reset may have replaced the experiment)
        exports = st.expander(
            "Export: CSV, config, weights, HTML report, data", icon=":material/download:", key="exports",
            on_change="rerun",
        )  # fmt: skip
        if exports.open:  # built only when opened
            with exports:
                guarded("The exports", compare.render_exports, s.experiment)
views = (
    network.render_network,
    diagnostics.render_diagnostics,
    inside.render_neurons,
    inside.render_replay,
    inside.render_seeds,
)
for tab, name, view in zip(tabs[1:6], TABS[1:6], views, strict=False):
    if tab.open:
        with tab:
            # Diagnostics reads the whole comparison; the per-network views one row of a grid whose
            # rows are networks of their own (inside.pick_group)
            shown = (
                s.experiment if name == "Diagnostics" else inside.pick_group(s.experiment, f"group_{name}")
            )
            guarded(f"The {name} view", view, shown)
if tabs[6].open:
    with tabs[6]:
        guarded("The activation zoo", zoo.render_zoo)

sidebar.render_sidebar()
