"""The figures layer: Plotly figures (and the PNGs in them) from plain data, between the core
(nnviz.engine, nnviz.data, nnviz.analysis: numpy, torch) and the UI (nnviz.ui: the only Streamlit).
No module here imports Streamlit; none but adapters and report knows an Experiment.

- style: colours (classes, runs, activations), templates, the log axis, and the plain-dict figure
  plumbing (build_figure, grid_layout, panel_grid, ...) every figure is built with.
- raster: the boundary panels as pixels: the shading PNGs and the first-paint pictures (Pillow).
- boundary: the decision boundary panels, their shading images, points and rings.
- curves: loss and accuracy over epochs.
- diagnostics: confusion matrices, dead / saturated units and gradient norms over epochs, gradient
  norm against depth.
- zoo: the activation zoo's plots, one activation or several overlaid.
- inside: hidden-unit maps, the transformed space, seed agreement, the replay animation.
- adapters: an Experiment to the figures' inputs (titles, greyed panels, colours), for the page and
  the report.
- report: the self-contained HTML report.
"""
