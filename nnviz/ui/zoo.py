"""The Activation zoo tab: every activation nnviz can compare, its formula, shape, derivative and guidance."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from nnviz.activations import ACTIVATIONS
from nnviz.figures import style, zoo
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
        pick, toggle = st.columns([5, 2], vertical_alignment="bottom")
        others = pick.multiselect(
            "Compare with", list(ACTIVATIONS), default=[], format_func=lambda k: ACTIVATIONS[k].name,
            key="zoo_compare", placeholder="Overlay other activations, e.g. Tanh against Sigmoid",
        )  # fmt: skip
        only_df = toggle.toggle(
            "f′ only", key="zoo_df_only", help="Derivatives alone: how much gradient each passes back."
        )
        others = [k for k in others if k != key]
        z = torch.linspace(-5, 5, 401)
        curves = [_curve(key, z, values)] + [_curve(k, z) for k in others]
        title = " vs ".join(name for name, *_ in curves)
        fig = zoo.activations_figure(z.numpy(), curves, title=title, derivatives_only=only_df)
        charts.show(fig, key="zoo_plot")
        if any(ACTIVATIONS[k].params for k in others):
            st.caption(f"Compared activations use their default parameters; the sliders set {act.name}'s.")
    st.dataframe(_zoo_table(), hide_index=True, width="stretch")


def _curve(key: str, z: torch.Tensor, values: dict | None = None) -> tuple:
    """(name, colour, f, f') of an activation over ``z``, for zoo.activations_figure."""
    act = ACTIVATIONS[key]
    f, df = act.forward_backward(z, values)
    return act.name, style.activation_color(key), f.numpy(), df.numpy()


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
