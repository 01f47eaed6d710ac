"""One run's network drawn as a graph, as in TensorFlow Playground: columns of units from the inputs
(the input features, by default x1, x2) through every hidden layer to the output, each unit a small picture of its output over the
input plane, each weight an edge coloured by its sign with its width by |w|.

Plain data in (:class:`nnviz.analysis.network.Network`), a Plotly figure out (a plain-dict spec, see
nnviz/figures/style.py); no Streamlit, no torch. What it is made of, so that 6 layers of 64 units
(~20k weights) draw quickly:

* every unit's picture, frame, bias marker and dead-unit cross in ONE layout image (a PNG drawn
  with numpy, placed over the plot area: one image to decode instead of hundreds);
* the edges in one scatter trace per (sign, width bucket), from unit centre to unit centre (the
  opaque pictures cover their ends), thinner and more translucent the wider the layers; each trace
  one walk along its edges with a gap (NaN) only between its connected parts, not a gap after every
  segment (see edge_traces why); x is the column index (uint8: a quarter of float32's payload);
* one invisible marker per unit that carries its hover: the statistics as text, and its picture at
  the full grid resolution as a PNG data URI in ``customdata[0]``, which nnviz/ui/charts.js shows
  large beside the cursor (Plotly's own hover label cannot show images).

Coordinates: x in columns (0 = inputs, ..., L + 1 = output), y in px of the nominal drawing; the y
axis is anchored to x so that pictures stay square at any width.

Regression (``value_range``): the one output unit's picture is the predicted value ŷ on the value
scale of the boundary panels (style.VALUE_SCALE over that range), not a class probability.
"""

from __future__ import annotations

import base64
import functools
import math
import re
import struct
import zlib

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go

from nnviz import fmt
from nnviz.activations import get_activation
from nnviz.analysis.network import Network
from nnviz.data.features import FEATURES
from nnviz.engine.recorder import SAT_RATIO
from nnviz.figures.style import (
    CLASS_COLORS,
    FONT,
    INK,
    MUTED,
    SHADE,
    TEMPLATE_SPEC,
    build_figure,
    class_colors,
    panel_titles,
    rgb,
    rgba,
    value_colors,
    value_levels,
)

NOMINAL_WIDTH = 430  # px: one of two networks side by side in the main column (ui.common.MAIN_WIDTH)
POSITIVE, NEGATIVE = CLASS_COLORS[1], CLASS_COLORS[0]  # the P(class 1) scale's ends: blue w > 0, orange w < 0
DEAD_FILL, FRAME = "#EEEEEE", "#BDBDBD"
# |w| / the network's largest |w| (weight_scale): edges in 4 buckets, each a trace per sign
BUCKETS = (0.25, 0.5, 0.75)
BUCKET_WIDTHS = (0.6, 1.3, 2.2, 3.3)  # px for narrow layers (8 units); wider layers get thinner lines
BUCKET_ALPHAS = (0.4, 0.55, 0.72, 0.9)
LEVELS = 64  # colour steps of a picture (finer ones are invisible and only grow the PNGs)
_MARGIN = dict(l=6, r=6, t=30, b=36)
_HEADER = 22  # px above the units: the columns' names
_LEFT, _RIGHT = 30, 22  # px left of the inputs' centres (their labels), right of the output's
_MAX_BOX = 40  # px: the largest picture


# ---- geometry -------------------------------------------------------------------------------------


def geometry(dims, width: float = NOMINAL_WIDTH, left: float = _LEFT) -> dict:
    """Where every unit goes, in px of a drawing ``width`` px wide (the plot area, margins out), with
    ``left`` px left of the inputs' centres for their labels.

    Returns ``pitch_x`` (px per column), ``x_range`` (in columns), ``height`` (px of the plot area),
    ``boxes`` (the picture's side per column, px) and ``ys`` (per column, each unit's centre in px
    from the bottom, the first unit on top)."""
    dims = [int(d) for d in dims]
    n_cols = len(dims)
    plot_w = width - _MARGIN["l"] - _MARGIN["r"]
    edge_box = _MAX_BOX
    pitch_x = (plot_w - left - _RIGHT - edge_box / 2) / (n_cols - 1)
    edge_box = min(_MAX_BOX, 0.62 * pitch_x)
    hidden = dims[1:-1]
    n_max = max(hidden + [1])
    pitch_y = float(np.clip(540 / n_max, 14, 50))
    box = min(pitch_y - max(2.0, 0.2 * pitch_y), 0.62 * pitch_x, _MAX_BOX)
    boxes = [max(box, edge_box)] + [box] * len(hidden) + [max(box, edge_box)]
    pitches = [boxes[0] + 12] + [pitch_y] * len(hidden) + [boxes[-1] + 22]  # room for the output's label
    units_h = max(n * p for n, p in zip(dims, pitches, strict=True))
    ys = [units_h / 2 + ((n - 1) / 2 - np.arange(n)) * p for n, p in zip(dims, pitches, strict=True)]
    start = (left + edge_box / 2) / pitch_x
    x_range = [-start, n_cols - 1 + (plot_w / pitch_x - start - (n_cols - 1))]
    return dict(pitch_x=pitch_x, x_range=x_range, height=units_h + _HEADER, units_height=units_h,
                boxes=boxes, ys=ys)  # fmt: skip


# ---- the pictures -----------------------------------------------------------------------------------


def _scale_palette(name: str) -> np.ndarray:
    """``[LEVELS + 1, 3]`` uint8 colours along a plotly.py colour scale (the Neurons tab's RdBu)."""
    colors = pcolors.sample_colorscale(name, np.linspace(0, 1, LEVELS + 1))
    return np.array([[int(float(v)) for v in c[4:-1].split(",")] for c in colors], dtype=np.uint8)


UNIT_PALETTE = _scale_palette("RdBu")  # low red, 0 white, high blue: the Neurons tab's unit scale
VALUE_PALETTE = value_colors(LEVELS + 1).astype(np.uint8)  # regression's output: the boundary panels' scale


def _tint_palette(color: str, *, two_sided: str | None = None) -> np.ndarray:
    """White to ``color`` at SHADE (the boundary panels' tints) over LEVELS + 1 steps of a probability;
    with ``two_sided`` the P(class 1) scale: ``two_sided`` at 0, white at 0.5, ``color`` at 1."""
    p = np.linspace(0, 1, LEVELS + 1)[:, None]
    if two_sided is None:
        return np.rint(255 + (rgb(color) - 255) * SHADE * p).astype(np.uint8)
    conf = np.abs(2 * p - 1)
    tint = np.where(p >= 0.5, rgb(color), rgb(two_sided))
    return np.rint(255 + (tint - 255) * SHADE * conf).astype(np.uint8)


def unit_levels(
    net: Network, col: int, value_range: tuple[float, float] | None = None
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Column ``col``'s pictures as colour levels ``[units, R, R]`` (0..LEVELS, row 0 at the top),
    one palette per unit, and each unit's largest |output| over the plane (the scale of its picture).

    Inputs and hidden units on the diverging unit scale, each scaled to its own largest |output|
    (as the Neurons tab); the output column as probabilities on the boundary panels' class tints,
    or for regression (``value_range=(lo, hi)``) as the predicted value on VALUE_PALETTE over it."""
    maps = np.nan_to_num(net.maps[col].astype(np.float64))[:, ::-1]  # row 0 = the largest y
    last = col == len(net.dims) - 1
    if not last:
        bound = np.abs(maps).max(axis=(1, 2))
        rel = maps / np.where(bound > 0, bound, 1.0)[:, None, None]
        levels = np.rint((rel + 1) / 2 * LEVELS)
        palettes = [UNIT_PALETTE] * len(maps)
    elif value_range is not None:
        bound = np.ones(len(maps))
        levels = value_levels(net.maps[col][:, ::-1], *value_range, levels=LEVELS + 1)
        palettes = [VALUE_PALETTE] * len(maps)
    else:
        bound = np.ones(len(maps))
        levels = np.rint(np.clip(maps, 0, 1) * LEVELS)
        if net.n_classes == 2:
            palettes = [_tint_palette(CLASS_COLORS[1], two_sided=CLASS_COLORS[0])]
        else:
            palettes = [_tint_palette(c) for c in class_colors(net.n_classes)]
    return levels.astype(np.uint8), palettes, bound


def png_uri(levels: np.ndarray, palette: np.ndarray, *, transparent: bool = False) -> str:
    """``[H, W]`` colour levels as an indexed PNG data URI (1 byte a pixel); ``transparent``: index 0
    is see-through.

    Written by hand (filter None, zlib level 6): a network has up to ~400 of these small pictures,
    and Pillow's fixed cost per image (~0.2 ms) was most of the figure's build time."""
    levels = np.ascontiguousarray(levels, dtype=np.uint8)
    h, w = levels.shape
    rows = np.zeros((h, w + 1), dtype=np.uint8)  # each row after its filter byte (0: None)
    rows[:, 1:] = levels
    head = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)  # 8-bit palette colour
    png = b"".join((
        b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", head), _plte(palette.tobytes()),
        _chunk(b"tRNS", b"\x00") if transparent else b"",
        _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)), _chunk(b"IEND", b""),
    ))  # fmt: skip
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@functools.lru_cache(maxsize=64)
def _plte(colors: bytes) -> bytes:
    return _chunk(b"PLTE", colors)


def _resample(n_in: int, n_out: int) -> np.ndarray:
    """``[n_out, n_in]`` weights taking cell-centred values onto ``n_out`` cells over the same extent:
    linear interpolation when enlarging, the average over each new cell's footprint when shrinking."""
    if n_out >= n_in:
        t = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
        i0 = np.minimum(t.astype(np.int64), max(n_in - 2, 0))
        w = t - i0
        m = np.zeros((n_out, n_in))
        m[np.arange(n_out), i0] += 1 - w
        m[np.arange(n_out), np.minimum(i0 + 1, n_in - 1)] += w
        return m
    edges = np.linspace(0, n_in, n_out + 1)
    cells = np.arange(n_in)
    overlap = np.clip(
        np.minimum(edges[1:, None], cells[None] + 1) - np.maximum(edges[:-1, None], cells[None]), 0, 1
    )
    return overlap / overlap.sum(1, keepdims=True)


# the one picture of all units has every second colour level: 33 a palette, so that the unit scale,
# the output's (up to 5 classes) and the frames and bias markers fit one PNG palette (at most 218)
SPRITE_STEP = 2
BIAS_STEPS = 8  # strengths of the bias markers' colour


def sprite(net: Network, geo: dict, columns: list[tuple], scale: int = 2) -> str:
    """Every unit's picture, framed, with its bias marker and a cross over dead units, in one
    transparent indexed PNG over the plot area (``scale`` px a px of the drawing); a data URI.
    ``columns``: each column's :func:`unit_levels`."""
    pitch = geo["pitch_x"] * scale
    (x_lo, x_hi), height = geo["x_range"], geo["height"]
    w, h = int(math.ceil((x_hi - x_lo) * pitch)), int(math.ceil(height * scale))
    canvas = np.zeros((h, w), dtype=np.uint8)  # index 0: transparent
    strength = 0.25 + 0.75 * np.arange(1, BIAS_STEPS + 1)[:, None] / BIAS_STEPS
    bias_colors = [255 + (rgb(c) - 255) * strength for c in (POSITIVE, NEGATIVE)]
    palette = [np.zeros((1, 3)), np.array([rgb(FRAME), rgb(DEAD_FILL), rgb(MUTED)]), *bias_colors]
    frame, dead_fill, muted, bias_base = 1, 2, 3, 4
    offsets: dict[int, int] = {}
    size = 4 + 2 * BIAS_STEPS
    for _, palettes, _ in columns:
        for pal in palettes:
            if id(pal) not in offsets:
                offsets[id(pal)] = size
                palette.append(pal[::SPRITE_STEP])
                size += len(pal[::SPRITE_STEP])
    biases = [np.nan_to_num(b.astype(np.float64)) for b in net.biases]
    ref_bias = max((float(np.abs(b).max()) for b in biases if b.size), default=0.0) or 1.0
    t = max(1, scale // 2)
    for col, (levels, palettes, _) in enumerate(columns):
        side = max(2, int(round(geo["boxes"][col] * scale)))
        m = _resample(levels.shape[1], side).astype(np.float32)
        values = m @ (levels.astype(np.float32) / SPRITE_STEP) @ m.T  # [units, side, side]
        picture = np.rint(values).astype(np.uint8)
        cx = int(round((col - x_lo) * pitch))
        dead = net.dead[col - 1] if col else np.zeros(len(levels), bool)
        bias = biases[col - 1] if col else None
        for u in range(len(levels)):
            cy = int(round((height - geo["ys"][col][u]) * scale))
            top, left = cy - side // 2, cx - side // 2
            box = canvas[top : top + side, left : left + side]
            if top < 0 or left < 0 or box.shape != (side, side):
                continue  # (never: the geometry keeps every unit inside)
            if dead[u]:
                box[:] = dead_fill
                _cross(box, muted, max(1, scale))
                _frame(box, muted, max(1, scale))
            else:
                box[:] = picture[u] + offsets[id(palettes[u])]
                _frame(box, frame, t)
            if bias is not None:
                rel = float(bias[u]) / ref_bias
                step = min(BIAS_STEPS - 1, int(abs(rel) * BIAS_STEPS))
                color = bias_base + step + (0 if rel >= 0 else BIAS_STEPS)
                _bias_marker(canvas, top + side, left, side, color, muted, scale)
    return png_uri(canvas, np.rint(np.concatenate(palette)).astype(np.uint8), transparent=True)


def _frame(box: np.ndarray, color: int, t: int) -> None:
    box[:t] = box[-t:] = box[:, :t] = box[:, -t:] = color


def _cross(box: np.ndarray, color: int, t: int) -> None:
    n = box.shape[0]
    i = np.arange(n)
    for d in range(-(t // 2), t - t // 2 + (1 if n > 20 else 0)):  # ~1.5 px wide lines on big pictures
        j = np.clip(i + d, 0, n - 1)
        box[i, j] = color
        box[i, n - 1 - j] = color


def _bias_marker(
    canvas: np.ndarray, bottom: int, left: int, side: int, color: int, edge: int, scale: int
) -> None:
    """A small square left of a picture's bottom corner in the bias's colour (blue positive, orange
    negative, stronger the larger |b| against the network's largest), outlined in grey."""
    s = max(3 * scale, int(round(side * 0.26)))
    right = left - max(1, scale // 2)  # a hair's gap from the picture
    top, l0 = bottom - s, right - s
    if l0 < 0 or top < 0:
        return
    patch = canvas[top:bottom, l0:right]
    patch[:] = color
    _frame(patch, edge, max(1, scale // 2))


# ---- the edges -------------------------------------------------------------------------------------


def edge_style(dims) -> tuple[list[float], list[float]]:
    """Line widths and opacities of the width buckets for a network of ``dims``: thinner and more
    translucent the wider its widest layer, the weak buckets most. One trace's segments are one SVG
    path, whose overlaps are painted once: between two columns of 64 units the weak edges become a
    faint wash under the strong ones, which stay lines (20k edges of 6 x 64 units, not a blot)."""
    widest = max([int(d) for d in dims[1:-1]] + [2])
    f = float(np.clip(math.sqrt(8 / widest), 0.3, 1.0))
    top = len(BUCKET_WIDTHS) - 1
    widths = [max(0.5, w * f) for w in BUCKET_WIDTHS]
    alphas = [a * f ** (2 * (top - b) / top + 0.3 * (f < 1)) for b, a in enumerate(BUCKET_ALPHAS)]
    return widths, alphas


def weight_scale(weights) -> float:
    """The network's |w| of reference for the edges' widths: its largest |w| (1 when all are 0). A
    deep net's input weights are often the largest: then most hidden edges are in the weak buckets,
    a wash under its strongest edges, which is what a dense net can show."""
    w = [float(np.abs(np.nan_to_num(w)).max()) for w in weights if np.size(w)]
    return max(w, default=0.0) or 1.0


LIVE_EDGES = 4000  # while training live, a network with more edges leaves out its weakest bucket


def edge_traces(net: Network, geo: dict, *, weakest: bool = True) -> list[dict]:
    """One scatter trace per (width bucket, sign), thin buckets first, holding that bucket's edges;
    without the weakest bucket unless ``weakest``.

    Plotly draws a scatter trace as one SVG path per run of points between gaps, so edges as
    None-separated segments were 20k path elements for 6 x 64 units (~1.5 s to draw in headless
    Chromium). Instead each trace is a walk along its edges (:func:`edge_walk`): each edge there and
    back, from unit centre to unit centre, a gap only between the walk's connected parts. A path
    paints its overlaps once, so the doubled edges look single; its turns are under the pictures."""
    ref = weight_scale(net.weights)
    widths, alphas = edge_style(net.dims)
    first = np.cumsum([0] + list(net.dims))  # vertex ids: the units, column by column
    col_of = np.repeat(np.arange(len(net.dims)), net.dims).astype(np.uint8)
    y_of = np.concatenate(geo["ys"]).astype(np.float32)
    parts: dict[tuple[int, int], list] = {}
    for layer, w in enumerate(net.weights):
        w = np.nan_to_num(w.astype(np.float64))
        out, n_in = w.shape
        bucket = np.digitize(np.abs(w) / ref, BUCKETS)
        positive = w >= 0
        dst, src = np.meshgrid(np.arange(out), np.arange(n_in), indexing="ij")
        for b in range(len(BUCKET_WIDTHS)):
            for sign in (1, 0):
                sel = (bucket == b) & (positive == bool(sign))
                if sel.any():
                    parts.setdefault((b, sign), []).append(
                        (first[layer] + src[sel], first[layer + 1] + dst[sel])
                    )
    traces = []
    for b in range(0 if weakest else 1, len(BUCKET_WIDTHS)):
        for sign in (1, 0):
            edges = parts.get((b, sign))
            if not edges:
                continue
            walk = edge_walk(
                int(first[-1]), np.concatenate([u for u, _ in edges]), np.concatenate([v for _, v in edges])
            )
            gap = walk < 0
            x = col_of[np.where(gap, 0, walk)]
            y = np.where(gap, np.float32(np.nan), y_of[np.where(gap, 0, walk)]).astype(np.float32)
            color = rgba(POSITIVE if sign else NEGATIVE, round(alphas[b], 3))
            lo = 0 if b == 0 else BUCKETS[b - 1]
            span = f"{lo:.0%}-{BUCKETS[b]:.0%}" if b < len(BUCKETS) else f">= {lo:.0%}"
            traces.append(dict(
                type="scatter", mode="lines", x=x, y=y, hoverinfo="skip", showlegend=False,
                line=dict(color=color, width=round(widths[b], 2), simplify=False),
                name=f"w {'>' if sign else '<'} 0, |w| {span} of the largest",
                meta=dict(edges=True, sign=1 if sign else -1, bucket=b),
            ))  # fmt: skip
    return traces


def edge_walk(n_vertices: int, us: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """A walk over the undirected edges ``us[e] - vs[e]`` that crosses each exactly twice, there and
    back (a depth-first walk: an Euler circuit of the doubled edges), as vertex ids with -1 between
    its connected parts; consecutive ids are always an edge."""
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(n_vertices)]
    for e, (u, v) in enumerate(zip(us.tolist(), vs.tolist(), strict=True)):
        adjacency[u].append((v, e))
        adjacency[v].append((u, e))
    used = bytearray(len(us))
    nxt = [0] * n_vertices
    out: list[int] = []
    for root in range(n_vertices):
        if all(used[e] for _, e in adjacency[root][nxt[root] :]):
            continue
        if out:
            out.append(-1)
        out.append(root)
        stack = [root]
        while stack:
            v = stack[-1]
            edges, i = adjacency[v], nxt[v]
            while i < len(edges) and used[edges[i][1]]:
                i += 1
            if i < len(edges):
                u, e = edges[i]
                nxt[v] = i + 1
                used[e] = 1
                out.append(u)
                stack.append(u)
            else:
                nxt[v] = i
                stack.pop()
                if stack:
                    out.append(stack[-1])
    return np.asarray(out, dtype=np.int64)


# ---- the hover --------------------------------------------------------------------------------------


def input_labels(net: Network) -> list[str]:
    """The input column's labels (HTML): the input features' (nnviz.data.features), else x1, x2, ..."""
    if len(net.input_names) == net.dims[0]:
        return [FEATURES[n].html for n in net.input_names]
    return [f"x<sub>{u + 1}</sub>" for u in range(net.dims[0])]


def _plain(text: str) -> str:
    """An HTML label's text as drawn (its tags out)."""
    return re.sub(r"<[^>]+>", "", text)


def _num(x) -> str:
    return fmt.loss(float(x))


def unit_hover(net: Network, col: int, unit: int, bound: float, value_range=None) -> str:
    """What hovering a unit says (Plotly's hover label, short lines of HTML): what it is, its output
    on the training points, dead or saturated, its bias and the gradient of its incoming weights.
    ``value_range``: a regression's output, whose picture is the predicted value on that scale."""
    n_cols = len(net.dims)
    if col == 0:
        plane = net.maps[0][unit]
        return (f"<b>input {input_labels(net)[unit]}</b> (standardised)<br>over the plane: "
                f"{_num(plane.min())} … {_num(plane.max())}")  # fmt: skip
    layer = col - 1
    lo, hi = net.out_min[layer][unit], net.out_max[layer][unit]
    stats = f"mean {_num(net.out_mean[layer][unit])}, range {_num(lo)} … {_num(hi)}"
    grad = f"{float(net.grad[layer][unit]):.2g}" if net.stepped else "– (no step yet)"
    tail = [f"bias {_num(net.biases[layer][unit])}", f"mean |gradient| in, last step: {grad}",
            f"(over its {net.dims[col - 1]} incoming weights)"]  # fmt: skip
    if col == n_cols - 1 and value_range is not None:
        lines = [
            "<b>output</b> · picture: the predicted value ŷ",
            f"on the value scale {_num(value_range[0])} … {_num(value_range[1])}",
            f"on the {net.n_points} training points:",
            f"ŷ {stats}",
        ]
        return "<br>".join(lines + tail)
    if col == n_cols - 1:
        what = "P(class 1)" if net.n_classes == 2 else f"P(class {unit})"
        lines = [
            f"<b>output</b> · picture: {what}",
            f"on the {net.n_points} training points:",
            f"logit {stats}",
        ]
        return "<br>".join(lines + tail)
    lines = [f"<b>layer {col} · unit {unit + 1}</b> · {get_activation(net.activation).name}",
             f"on the {net.n_points} training points:", f"output {stats}"]  # fmt: skip
    if net.dead[layer][unit]:
        lines.append("<b>dead</b>: exactly 0 on every one")
    elif not net.saturating:
        lines.append(f"exactly 0 on {fmt.pct(net.zero_share[layer][unit], 0)} of them")
    else:
        share = fmt.pct(net.saturated_share[layer][unit], 0)
        flag = ": <b>saturated</b>" if net.saturated[layer][unit] else ""
        lines.append(f"f′ < {SAT_RATIO:.0%} of f′(0) on {share} of them{flag}")
    return "<br>".join(lines + tail + [f"picture scaled to ±{_num(bound)}"])


def _share(net: Network, layer: int, unit: int):
    values = net.saturated_share if net.saturating else net.zero_share
    v = float(values[layer][unit])
    return None if not math.isfinite(v) else round(v, 6)


def unit_trace(
    net: Network, geo: dict, pictures: list[list[str]], bounds: list[np.ndarray], value_range=None
) -> dict:
    """The invisible markers, one per unit, that carry the hover (``value_range``: unit_hover's).
    ``customdata`` per unit:
    ``[picture data URI, column, unit, dead, zero or saturated share, mean |grad| in, bias]`` (the
    last three None where they do not apply)."""
    xs, ys, sizes, texts, data = [], [], [], [], []
    for col, n in enumerate(net.dims):
        for u in range(n):
            xs.append(col)
            ys.append(geo["ys"][col][u])
            sizes.append(geo["boxes"][col])
            texts.append(unit_hover(net, col, u, float(bounds[col][u]), value_range))
            if col == 0:
                data.append([pictures[col][u], col, u, False, None, None, None])
            else:
                layer = col - 1
                data.append([
                    pictures[col][u], col, u, bool(net.dead[layer][u]), _share(net, layer, u),
                    float(net.grad[layer][u]), float(net.biases[layer][u]),
                ])  # fmt: skip
    return dict(
        type="scatter", mode="markers", x=np.asarray(xs, np.float32), y=np.asarray(ys, np.float32),
        marker=dict(symbol="square", size=np.asarray(sizes, np.float32), color="rgba(0,0,0,0)"),
        text=texts, customdata=data, hovertemplate="%{text}<extra></extra>", showlegend=False, name="units",
        hoverlabel=dict(bgcolor="white", bordercolor="#BDBDBD", font=dict(family=FONT, size=12, color=INK),
                        align="left"),
    )  # fmt: skip


# ---- the figure -------------------------------------------------------------------------------------


def network_figure(
    net: Network, *, title: str, color: str | None = None, width: float = NOMINAL_WIDTH, scale: int = 2,
    uirevision: str = "network", live: bool = False, value_range: tuple[float, float] | None = None,
) -> go.Figure:  # fmt: skip
    """One run's network (see the module docstring). ``title`` over it, after a swatch of ``color``;
    ``width``: the px the figure gets on the page; ``scale``: sprite px per px (2: crisp on HiDPI).
    ``live`` (redrawn twice a second while training): a network of more than LIVE_EDGES edges leaves
    out its weakest edges, a faint wash that takes most of the drawing time (6 x 64 units: ~90% of
    the edges, ~250 of ~300 ms a redraw in headless Chromium); they are back once paused.
    ``value_range=(lo, hi)``: a regression net, whose output column is the predicted value (its map
    in ``net.maps``) on the boundary panels' value scale over that range, labelled ŷ."""
    labels = input_labels(net)
    geo = geometry(net.dims, width, left=max(_LEFT, 7 * max(len(_plain(t)) for t in labels) + 10))
    columns = [unit_levels(net, col, value_range) for col in range(len(net.dims))]
    pictures = [
        [png_uri(lv, pal) for lv, pal in zip(levels, palettes, strict=True)]
        for levels, palettes, _ in columns
    ]
    bounds = [bound for _, _, bound in columns]
    traces = edge_traces(net, geo, weakest=not live or sum(w.size for w in net.weights) <= LIVE_EDGES)
    widths, alphas = edge_style(net.dims)
    for name, c in (("weight > 0", POSITIVE), ("weight < 0", NEGATIVE)):  # the legend's entries alone
        traces.append(dict(type="scatter", mode="lines", x=[None], y=[None], name=name,
                           line=dict(color=c, width=3), hoverinfo="skip"))  # fmt: skip
    traces.append(dict(
        type="scatter", mode="markers", x=[None], y=[None], name="bias", hoverinfo="skip",
        marker=dict(symbol="square", size=7, color=rgba(POSITIVE, 0.6), line=dict(color=MUTED, width=1)),
    ))  # fmt: skip
    traces.append(dict(
        type="scatter", mode="markers", x=[None], y=[None], name="dead unit", hoverinfo="skip",
        marker=dict(symbol="square-x-open", size=11, color=MUTED, line=dict(color=MUTED, width=1.2)),
    ))  # fmt: skip
    traces.append(unit_trace(net, geo, pictures, bounds, value_range))
    (x_lo, x_hi), height = geo["x_range"], geo["height"]
    n_cols = len(net.dims)
    top = geo["units_height"]
    names = ["inputs"] + [f"layer {i}" for i in range(1, n_cols - 1)] + ["output"]
    notes = [dict(text=t, x=c, y=top + 3, xref="x", yref="y", yanchor="bottom", showarrow=False,
                  font=dict(size=12, color="#444444")) for c, t in enumerate(names)]  # fmt: skip
    for u, y in enumerate(geo["ys"][0]):
        notes.append(dict(
            text=labels[u], x=-geo["boxes"][0] / 2 / geo["pitch_x"] - 0.04, y=y, xref="x", yref="y",
            xanchor="right", showarrow=False, font=dict(size=13, color=INK),
        ))  # fmt: skip
    if value_range is not None:
        out_names = ["ŷ"]
    elif net.n_classes == 2:
        out_names = ["P(class 1)"]
    else:
        out_names = [f"class {c}" for c in range(net.n_classes)]
    for u, y in enumerate(geo["ys"][-1]):
        notes.append(dict(
            text=out_names[u], x=n_cols - 1, y=y - geo["boxes"][-1] / 2 - 2, xref="x", yref="y", yanchor="top",
            showarrow=False, font=dict(size=11, color=INK),
        ))  # fmt: skip
    full_h = height + _MARGIN["t"] + _MARGIN["b"]
    image = dict(
        source=sprite(net, geo, columns, scale), xref="x", yref="y", x=x_lo, y=height, sizex=x_hi - x_lo, sizey=height,
        xanchor="left", yanchor="top", sizing="stretch", layer="above",
    )  # fmt: skip
    axis = dict(visible=False, fixedrange=False, showgrid=False, zeroline=False)
    layout = dict(
        template=TEMPLATE_SPEC, height=round(full_h), margin=dict(_MARGIN, autoexpand=False),
        title=dict(text=panel_titles([title], [color] if color else None)[0], x=0.01, xanchor="left",
                   y=1 - 8 / full_h, yanchor="top", font=dict(size=14)),
        xaxis=dict(axis, range=[x_lo, x_hi], constrain="domain"),
        yaxis=dict(axis, range=[0, height], scaleanchor="x", scaleratio=1 / geo["pitch_x"], constrain="domain"),
        images=[image], annotations=notes, hovermode="closest", hoverdistance=4, uirevision=uirevision,
        showlegend=True,
        legend=dict(orientation="h", x=0, xanchor="left", y=(_MARGIN["b"] - 10) / full_h, yref="container",
                    yanchor="top", font=dict(size=11)),
        meta=dict(dims=list(net.dims), edge_widths=[round(w, 2) for w in widths],
                  edge_alphas=[round(a, 3) for a in alphas]),
    )  # fmt: skip
    if value_range is not None:  # the output picture's scale (style.VALUE_SCALE over it)
        layout["meta"]["value_range"] = [float(v) for v in value_range]
    return build_figure(traces, layout)
