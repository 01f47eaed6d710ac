"""The Activation zoo tab: every activation nnviz can compare, its formula, shape, derivative and guidance."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from nnviz import plots
from nnviz.activations import ACTIVATIONS
from nnviz.ui import charts


def render_zoo() -> None:
    st.markdown(
        "Every activation nnviz can compare: formula, shape of f and f', properties and when to use it."
    )
    cols = st.columns([2, 3])
    with cols[0]:
        key = st.selectbox(
            "Activation", list(ACTIVATIONS), format_func=lambda k: ACTIVATIONS[k].name, key="zoo_act"
        )
        act = ACTIVATIONS[key]
        st.latex(act.formula)
        values = {
            p.name: st.slider(p.label, p.low, p.high, p.default, step=0.01, key=f"zoo_{key}_{p.name}")
            for p in act.params
        }
        st.markdown(f"**Range** {act.output_range}")
        props = [("zero-centred", act.zero_centred), ("monotonic", act.monotonic), ("smooth", act.smooth)]
        st.markdown(" · ".join(f"{'✓' if ok else '✗'} {name}" for name, ok in props))
        st.info(act.guidance)
    with cols[1]:
        z = torch.linspace(-5, 5, 401)
        f, df = act.forward_backward(z, values)
        charts.show(plots.activation_figure(z.numpy(), f.numpy(), df.numpy(), name=act.name), key="zoo_plot")
    st.dataframe(_zoo_table(), hide_index=True, width="stretch")


def _zoo_table() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "activation": a.name,
                "range": a.output_range,
                "zero-centred": a.zero_centred,
                "monotonic": a.monotonic,
                "smooth": a.smooth,
                "saturates": a.saturating,
                "can die": a.can_die,
                "guidance": a.guidance,
            }
            for a in ACTIVATIONS.values()
        ]
    )
