"""The boundary panels as pixels: each panel's shading (the predicted class's colour faded to white by
confidence, the decision boundary drawn in) as an indexed PNG data URI, and the first-paint pictures
(that shading with the data points drawn in), for a page to show before plotly.js is there.

Drawn with numpy and Pillow (which comes with Streamlit); no Streamlit, no torch.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image, ImageDraw

from nnviz.figures.style import INK, SHADE, class_colors, point_density, rgb, value_colors, value_levels

SHADING_PIXELS = 240  # a boundary panel's shading image has at least this many pixels a side
SHADES = 16  # confidence steps of the shading (finer ones are invisible and only grow the PNG)


def check_probs(probs, xs, ys, n_classes: int, n_titles: int) -> np.ndarray:
    """``probs`` as an array, or a ValueError unless it is [n_titles, len(ys), len(xs), n_classes]."""
    probs = np.asarray(probs)
    if probs.ndim != 4 or probs.shape[1:3] != (len(ys), len(xs)) or min(len(xs), len(ys)) < 2:
        raise ValueError(f"probs must have shape (K, {len(ys)}, {len(xs)}, C) with R >= 2, got {probs.shape}")
    if probs.shape[-1] != n_classes or n_classes < 2:
        raise ValueError(f"probs has {probs.shape[-1]} classes but n_classes is {n_classes}")
    if len(probs) != n_titles:
        raise ValueError(f"{len(probs)} runs but {n_titles} titles")
    return probs


def check_values(values, xs, ys, n_titles: int) -> np.ndarray:
    """Regression's ``values`` as an array, or a ValueError unless it is [n_titles, len(ys), len(xs)]."""
    values = np.asarray(values)
    if values.ndim != 3 or values.shape[1:] != (len(ys), len(xs)) or min(len(xs), len(ys)) < 2:
        raise ValueError(f"values must have shape (K, {len(ys)}, {len(xs)}) with R >= 2, got {values.shape}")
    if len(values) != n_titles:
        raise ValueError(f"{len(values)} runs but {n_titles} titles")
    return values


def value_png(values: np.ndarray, lo: float, hi: float, muted: bool = False) -> str:
    """One regression panel's predicted values ([R, R], rows over ys) as a PNG data URI, row 0 at the
    top: style.VALUE_SCALE over [lo, hi] (clipped), see _value_pixels."""
    return _data_uri(_indexed_image(*_value_pixels(values, lo, hi, muted)))


def _value_pixels(
    values: np.ndarray, lo: float, hi: float, muted: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """A regression panel: the [R, R] values upsampled (bilinear) to at least SHADING_PIXELS a side
    and coloured by their level of style.VALUE_SCALE; as [H, W] palette indices (row 0 at the top)
    and the palette. A NaN value (a diverged run) takes the scale's middle; ``muted``: in greys."""
    v = np.asarray(values, dtype=np.float32)
    v = np.where(np.isfinite(v), v, np.float32((lo + hi) / 2))
    scale = max(1.0, SHADING_PIXELS / min(v.shape))
    v = _upsample(_upsample(v, round(v.shape[0] * scale), axis=0), round(v.shape[1] * scale), axis=1)
    palette = value_colors()
    if muted:
        grey = palette @ np.array([0.299, 0.587, 0.114])
        palette = np.rint(np.repeat((255 - 0.45 * (255 - grey))[:, None], 3, axis=1))
    return np.ascontiguousarray(value_levels(v, lo, hi)[::-1]), palette


def shading_png(probs: np.ndarray, colors, discretize: bool, muted: bool = False) -> str:
    """One panel's shading ([R, R, C] probabilities) as a PNG data URI, row 0 at the top (see
    _shading_pixels)."""
    return _data_uri(_indexed_image(*_shading_pixels(probs, colors, discretize, muted)))


def _shading_pixels(
    probs: np.ndarray, colors, discretize: bool, muted: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """One panel's shading: the argmax class colour faded to white by confidence, and the decision
    boundary as a dark line; as [H, W] palette indices (row 0 at the top, the largest y) and the
    [P, 3] palette.

    The [R, R] grid is upsampled (bilinear, in probability) to at least SHADING_PIXELS pixels a side
    before the class and the boundary are taken, so the line is drawn at the screen's resolution
    instead of in grid-cell steps. A NaN grid is white, with no line. ``muted`` (a diverged run, whose
    frozen weights no longer mean anything): the palette in pale greys."""
    p = probs.astype(np.float32) / (255.0 if probs.dtype == np.uint8 else 1.0)
    c = p.shape[-1]
    p = np.where(np.isfinite(p), p, np.float32(1.0 / c))
    scale = max(1.0, SHADING_PIXELS / min(p.shape[:2]))
    p = _upsample(_upsample(p, round(p.shape[0] * scale), axis=0), round(p.shape[1] * scale), axis=1)
    label, top = _top_class(p)
    conf = np.full_like(top, 0.8) if discretize else np.clip((top - 1 / c) / (1 - 1 / c), 0, 1)
    level = np.rint(conf * SHADES).astype(np.int64)  # steps too fine to see: a much smaller PNG
    # the palette: class x confidence step, white-to-tint, then the line colour last
    tints = np.array([rgb(color) for color in colors[:c]], dtype=np.float64)[:, None, :]
    strength = SHADE * np.arange(SHADES + 1)[None, :, None] / SHADES
    palette = np.concatenate([np.rint(255 + (tints - 255) * strength).reshape(-1, 3), rgb(INK)[None]])
    index = label * (SHADES + 1) + level
    edge = np.zeros(label.shape, dtype=bool)  # both pixels at a class change: a ~2 px line
    step_x, step_y = label[:, 1:] != label[:, :-1], label[1:, :] != label[:-1, :]
    edge[:, 1:] |= step_x
    edge[:, :-1] |= step_x
    edge[1:, :] |= step_y
    edge[:-1, :] |= step_y
    index[edge] = len(palette) - 1
    if muted:
        grey = palette @ np.array([0.299, 0.587, 0.114])
        palette = np.rint(np.repeat((255 - 0.45 * (255 - grey))[:, None], 3, axis=1))
    return np.ascontiguousarray(index[::-1]), palette


def _indexed_image(index: np.ndarray, palette: np.ndarray) -> Image.Image:
    """[H, W] indices into the [P, 3] ``palette`` as a palette image (1 byte a pixel: a third of the
    size of RGB), or as RGB when there are more colours than a palette holds (256)."""
    if len(palette) <= 256:
        image = Image.fromarray(index.astype(np.uint8), mode="P")
        image.putpalette(np.ascontiguousarray(palette, dtype=np.uint8).tobytes())
        return image
    return Image.fromarray(np.ascontiguousarray(palette[index], dtype=np.uint8))


def _data_uri(image: Image.Image) -> str:
    """``image`` as a PNG data URI, at Pillow's default zlib level (6). A live frame's 8 panels of
    240 px: ~5 ms and ~28 KB; the hand-written encoder before it (filter Up, zlib 6) took ~9 ms for
    ~30 KB; level 1 takes ~2 ms, for PNGs a third bigger (measured on this 2-core machine)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def picture_panels(
    xs, ys, probs, *, X_train, y_train, X_val, y_val, n_classes, show_val=True, discretize=False, muted=None,
    pred_train=None, pred_val=None, value_range=None,
) -> list[str]:  # fmt: skip
    """Each boundary panel as one PNG (data URI): boundary_figure's shading with the data drawn in
    (training circles, validation triangles, in their class colours with a white edge), and a dark
    ring around each point that ``pred_train`` / ``pred_val`` ([K, N] predicted classes, or None)
    get wrong: for a page to show before plotly.js is there (nnviz/ui/charts.py, first_paint), and
    as the panels of a figure with too many points for markers (style.points_as_pixels).

    Regression (``value_range=(lo, hi)``): ``probs`` are the [K, R, R] predicted values, drawn as
    value_png draws them, and the points take their target's colour on the same scale, with a grey
    edge (no rings)."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if value_range is None:
        colors = class_colors(n_classes)
        probs = check_probs(probs, xs, ys, n_classes, len(probs))
    else:
        lo, hi = value_range
        colors = [tuple(c) for c in value_colors().astype(int)]
        probs = check_values(probs, xs, ys, len(probs))
        pred_train = pred_val = None
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    x0, x1, y0, y1 = xs[0] - dx / 2, xs[-1] + dx / 2, ys[0] - dy / 2, ys[-1] + dy / 2
    points = [(X_train, y_train, _circle)] + ([(X_val, y_val, _triangle)] if show_val else [])
    size = point_density(sum(len(X) for X, _, _ in points))[
        0
    ]  # smaller markers for many points, as in the figure
    muted = list(muted) if muted is not None else [False] * len(probs)
    if value_range is None:
        shadings = [_shading_pixels(p, colors, discretize, m) for p, m in zip(probs, muted, strict=True)]
    else:
        shadings = [_value_pixels(p, lo, hi, m) for p, m in zip(probs, muted, strict=True)]
    # The data are the same on every panel: drawn once, as codes (0 none, 1 the white edge, 2 + k
    # class k) over which each panel's shading shows (39 panels of 5000 points: ~25 ms, not ~900).
    h, w = shadings[0][0].shape if shadings else (1, 1)
    codes = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(codes)
    for X, y, marker in points:
        X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        rows = np.rint((y1 - X[:, 1]) / (y1 - y0) * h - 0.5).astype(np.int64).tolist()
        cols = np.rint((X[:, 0] - x0) / (x1 - x0) * w - 0.5).astype(np.int64).tolist()
        y = np.asarray(y) if value_range is None else value_levels(y, lo, hi)
        classes = (2 + y.astype(np.int64)).tolist()
        for r, c, k in zip(rows, cols, classes, strict=True):  # in order, each edge over earlier points
            marker(draw, c, r, k, 1, size)
    codes = np.asarray(codes, dtype=np.int64)
    drawn = codes > 0
    parts = [(X_train, y_train, pred_train)] + ([(X_val, y_val, pred_val)] if show_val else [])
    sources = []
    for k, (index, palette) in enumerate(shadings):
        # the palette: the shading's (its last colour the line's ink), then the points' edge (white;
        # grey on a regression's values), then the class colours or value levels (code c at
        # len(palette) + c - 1)
        ink = len(palette) - 1
        index = np.where(drawn, len(palette) + codes - 1, index)
        edge = [255, 255, 255] if value_range is None else [70, 70, 70]
        point_colors = [rgb(c) for c in colors] if value_range is None else np.array(colors, dtype=np.float64)
        palette = np.concatenate([palette, [edge], point_colors])
        image = _indexed_image(index, palette)
        wrong = [np.asarray(X, dtype=np.float64).reshape(-1, 2)[np.asarray(pred)[k] != np.asarray(y)]
                 for X, y, pred in parts if pred is not None]  # fmt: skip
        if wrong:
            draw = ImageDraw.Draw(image)
            fill = ink if image.mode == "P" else tuple(int(v) for v in palette[ink])
            r = max(2.5, 5 * size)
            for X in wrong:
                rows = np.rint((y1 - X[:, 1]) / (y1 - y0) * h - 0.5).tolist()
                cols = np.rint((X[:, 0] - x0) / (x1 - x0) * w - 0.5).tolist()
                for row, col in zip(rows, cols, strict=True):
                    draw.ellipse((col - r, row - r, col + r, row + r), outline=fill, width=1)
        sources.append(_data_uri(image))
    return sources


# Plotly's markers at the picture's scale (a 240 px panel shows at ~180-250 px): a 6 px circle and
# an 8 px upward triangle, each with a 1 px white edge; (x, y) is the point's pixel.
def _circle(draw: ImageDraw.ImageDraw, x: int, y: int, fill, edge, size: float = 1.0) -> None:
    r = max(1.5, 3 * size)  # at full size 7 px: 5 px inside the edge
    draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=edge, width=1)


def _triangle(draw: ImageDraw.ImageDraw, x: int, y: int, fill, edge, size: float = 1.0) -> None:
    up, side, down = (max(2.0, v * size) for v in (5, 5, 3))
    draw.polygon(((x, y - up), (x - side, y + down), (x + side, y + down)), fill=fill, outline=edge, width=1)


def _top_class(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """argmax and max over the last axis of [H, W, C] (ties: the first class), by a loop over the few
    classes: numpy reduces over a short last axis ~10x slower (16 ms a live frame of 8 panels)."""
    top = p[..., 0].copy()
    label = np.zeros(top.shape, dtype=np.int64)
    for c in range(1, p.shape[-1]):
        better = p[..., c] > top
        np.copyto(top, p[..., c], where=better)
        label[better] = c
    return label, top


def _upsample(a: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Linear interpolation of cell-centred values onto ``size`` cells along ``axis`` over the same
    extent (at the new cells' centres, clamped at the outermost old ones)."""
    n = a.shape[axis]
    if size == n:
        return a
    t = np.clip((np.arange(size) + 0.5) * (n / size) - 0.5, 0, n - 1)
    i0 = np.minimum(t.astype(np.int64), n - 2)
    w = (t - i0).astype(a.dtype)
    shape = [1] * a.ndim
    shape[axis] = -1
    w = w.reshape(shape)
    return np.take(a, i0, axis=axis) * (1 - w) + np.take(a, i0 + 1, axis=axis) * w
