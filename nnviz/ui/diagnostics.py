"""The Diagnostics tab: gradient norm by layer, confusion matrices (regression: predicted against target),
dead and saturated units over time."""

from __future__ import annotations

import streamlit as st

from nnviz.experiment import Experiment
from nnviz.figures import adapters
from nnviz.figures.diagnostics import confusion_figure, diagnostics_figure, gradient_depth_figure
from nnviz.ui import charts


def render_diagnostics(exp: Experiment) -> None:
    colors = adapters.run_colors(exp)
    for k, epoch in enumerate(exp.diverged_epoch):
        if epoch is not None:
            st.error(f"{exp.run_labels[k]} diverged at epoch {epoch} (loss became NaN/inf) and was frozen.")
    if not exp.epoch:
        st.info("Train first: diagnostics are recorded while training.")
        return
    grads = exp.diagnostics()
    if len(grads["epochs"]):
        st.subheader("Gradient norm by layer")
        st.caption(
            "One line per run: each weight layer's gradient norm, layer 1 to the output, log scale (faint: at "
            "the start). Every decade lower at layer 1 is 10× less gradient reaching it: vanishing gradients."
        )
        first, last = grads["grad_norm"][0], grads["grad_norm"][-1]
        epochs = (int(grads["epochs"][0]), int(grads["epochs"][-1]))
        fig = gradient_depth_figure(first, last, labels=exp.run_labels, colors=colors, epochs=epochs)
        charts.show(fig, key="gradient_depth")
    if exp.is_regression:
        st.subheader("Predicted vs target (validation)")
        st.caption(
            "Each validation point at its target (x) and a run's prediction (y); on the dashed diagonal "
            "the prediction is exact. R²: 1 is a perfect fit, 0 no better than predicting the mean."
        )
        for i, (label, fig) in enumerate(adapters.fit_figures(exp)):
            if label:  # a grid: a figure per row
                st.markdown(f"**{label}**")
            charts.show(fig, key=f"fit_{i}")
    else:
        st.subheader("Confusion matrices (validation)")
        charts.show(confusion_figure(exp.confusion("val"), titles=exp.run_labels), key="confusion")
    st.subheader("Inside the networks")
    st.caption(
        "Dead: a unit whose output is 0 on every training point. Saturated (sigmoid, tanh, softsign): "
        "f'(z) below 5% of f'(0) on 90% of points. Gradient norm: per weight matrix, log scale."
    )
    diag = exp.diagnostics()
    charts.show(diagnostics_figure(diag, labels=exp.run_labels, colors=colors), key="diagnostics")
