"""What the results mean: metrics, verdicts, boundary grids and the views inside a network (unit maps,
transformed space, seed agreement). Plain arrays in and out.
"""
