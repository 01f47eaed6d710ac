"""Regression in the app: the value panels (heatmaps of the prediction, points coloured by target on
the same scale, one colour bar), their live frames and first paint, the sidebar and the upload's
detected task, through figure functions, AppTest and the real browser."""

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nnviz.config import Config
from nnviz.figures import adapters, raster, style
from nnviz.figures import boundary as boundary_mod
from nnviz.grid import build
from tests.test_app import APP, TIMEOUT, boundary, charts, run_app
from tools.harness import ARTIFACTS, epoch_of, wait_for_boundary

REG = {"dataset": "multigauss", "act": "relu,tanh", "epochs": "20"}


def array(value) -> np.ndarray:
    """An array of a figure's JSON: a list, or plotly's typed array {"dtype", "bdata"}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def png_pixels(uri: str) -> np.ndarray:
    """A PNG data URI as [H, W, 3] uint8."""
    data = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.fixture(scope="module")
def trained():
    exp = build(Config(dataset="multigauss", activations=("relu", "tanh", "linear"), epochs=40))
    exp.step(40)
    return exp


# ---- the colour scale and the pictures ----------------------------------------------------------


def test_value_png_colours_low_mid_and_high_by_the_scale():
    values = np.zeros((10, 30), dtype=np.float32)
    values[:, :10], values[:, 20:] = -2.0, 2.0  # below, at and above the range's middle
    pixels = png_pixels(raster.value_png(values, -1.0, 1.0))
    ends = style.value_colors()
    row = pixels[pixels.shape[0] // 2]
    assert np.abs(row[5].astype(int) - ends[0]).max() <= 1, "clipped to the low end"
    assert np.abs(row[-5].astype(int) - ends[-1]).max() <= 1, "clipped to the high end"
    assert row[len(row) // 2].min() > 235, "the middle is (nearly) white"
    muted = png_pixels(raster.value_png(values, -1.0, 1.0, muted=True))[5]
    assert np.ptp(muted.astype(int), axis=1).max() <= 1, "a diverged panel is grey"


def test_value_png_puts_the_largest_y_at_the_top():
    values = np.tile(np.linspace(-1, 1, 20)[:, None], (1, 20))  # rows over ys: low at ys[0]
    pixels = png_pixels(raster.value_png(values, -1.0, 1.0)).astype(int)
    ends = style.value_colors()
    assert np.abs(pixels[0, 0] - ends[-1]).max() <= 12 and np.abs(pixels[-1, 0] - ends[0]).max() <= 12


def test_value_levels_clip_and_put_nan_in_the_middle():
    levels = style.value_levels([-5, -1, 0, 1, 5, np.nan], -1.0, 1.0)
    top = style.VALUE_LEVELS - 1
    assert levels.tolist() == [0, 0, round(top / 2), top, top, round(top / 2)]


def test_value_range_is_symmetric_about_zero_when_targets_straddle_it(trained):
    lo, hi = adapters.value_range(trained)
    y = np.r_[trained.split.y_train, trained.split.y_val]
    assert lo == -hi and hi == pytest.approx(float(np.abs(y).max()))


def test_value_range_of_one_sided_or_constant_targets():
    X = np.random.default_rng(0).normal(size=(60, 2))
    for y, want in ((np.linspace(2.0, 5.0, 60), (2.0, 5.0)), (np.full(60, 3.0), (2.0, 4.0))):
        cfg = Config(dataset="upload", activations=("relu",), epochs=5)
        exp = build(cfg, (X, y.astype(np.float32)), data_token="t")
        assert adapters.value_range(exp) == pytest.approx(want)
    # a target mostly positive with a little below zero keeps its own range (white is not 0)
    y = np.linspace(-0.2, 4.0, 60).astype(np.float32)
    exp = build(Config(dataset="upload", activations=("relu",), epochs=5), (X, y), data_token="u")
    assert adapters.value_range(exp) == pytest.approx((-0.2, 4.0))


def test_regression_panels_are_value_heatmaps_with_points_coloured_by_target(trained):
    fig = adapters.experiment_boundary_figure(trained, 50, ncols=3).to_plotly_json()
    layout = fig["layout"]
    lo, hi = adapters.value_range(trained)
    assert len(layout["images"]) == 3
    axis = layout["coloraxis"]
    assert (
        axis["colorscale"] == [list(s) for s in style.VALUE_SCALE] or axis["colorscale"] == style.VALUE_SCALE
    )
    assert (axis["cmin"], axis["cmax"], axis["showscale"]) == (lo, hi, True)
    assert axis["colorbar"]["title"]["text"] == "value"
    points = [t for t in fig["data"] if t.get("name") in ("train", "validation") and not t.get("showlegend")]
    assert len(points) == 6  # train and validation, in each of 3 panels
    X_train, y_train = trained.data_xy("train")
    train = points[0]
    assert train["marker"]["coloraxis"] == "coloraxis"
    assert np.allclose(array(train["marker"]["color"]), y_train, atol=1e-6)
    assert not any(t.get("name") == "misclassified" for t in fig["data"]), "no rings in regression"
    titles = [a["text"] for a in layout["annotations"] if "·" in a["text"]]
    r2 = trained.history()["val_r2"][-1]
    assert [re.sub(r"<[^>]+>|■", "", t).strip() for t in titles] == [
        f"{name} · val R² {v:.2f}" for name, v in zip(trained.run_labels, r2, strict=True)
    ]


def test_a_panels_picture_is_its_predicted_surface(trained):
    grid, values = trained.surface(40)
    lo, hi = adapters.value_range(trained)
    fig = adapters.experiment_boundary_figure(trained, 40, ncols=3).to_plotly_json()
    for k, image in enumerate(fig["layout"]["images"]):
        want = png_pixels(raster.value_png(values[k], lo, hi))
        assert np.array_equal(png_pixels(image["source"]), want)


def test_live_frames_and_first_paint_draw_the_values(trained):
    frames = adapters.experiment_shading(trained, 40)
    grid, values = trained.surface(40)
    lo, hi = adapters.value_range(trained)
    assert [png_pixels(f).shape for f in frames] == [
        png_pixels(raster.value_png(values[0], lo, hi)).shape
    ] * 3
    assert np.array_equal(png_pixels(frames[1]), png_pixels(raster.value_png(values[1], lo, hi)))
    pictures = adapters.experiment_picture(trained, 40)
    # the data drawn in: the pictures differ from the bare surfaces where the points are
    assert len(pictures) == 3 and not np.array_equal(png_pixels(pictures[0]), png_pixels(frames[0]))


def test_many_points_are_drawn_into_the_pictures_in_their_target_colours():
    xs = ys = np.linspace(-1, 1, 30)
    values = np.zeros((1, 30, 30), dtype=np.float32)
    X = np.array([[-0.5, 0.5], [0.5, -0.5]])
    y = np.array([-1.0, 1.0], dtype=np.float32)
    (uri,) = raster.picture_panels(
        xs, ys, values, X_train=X, y_train=y, X_val=X[:0], y_val=y[:0], n_classes=None, value_range=(-1, 1)
    )
    pixels = png_pixels(uri).astype(int)
    h, w = pixels.shape[:2]
    ends = style.value_colors()
    half = (xs[1] - xs[0]) / 2
    spot = (0.5 + half) / (2 + 2 * half)  # -0.5 and 0.5 as shares of the picture's extent
    low = pixels[int(h * spot), int(w * spot)]  # (-0.5, 0.5): up left
    high = pixels[int(h * (1 - spot)), int(w * (1 - spot))]
    assert np.abs(low - ends[0]).max() <= 1 and np.abs(high - ends[-1]).max() <= 1


def test_a_flat_surface_says_so_and_a_diverged_one_is_grey(trained):
    flat = np.full((1, 10, 10), 0.3)
    muted, notes = adapters._value_states(trained, flat, [0], span=2.0)
    assert muted == [False] and "predicts about 0.3 everywhere" in notes[0]
    _, notes = adapters._value_states(trained, np.linspace(-1, 1, 100).reshape(1, 10, 10), [0], span=2.0)
    assert notes == [None]


def test_the_figure_refuses_values_of_the_wrong_shape():
    with pytest.raises(ValueError, match="values must have shape"):
        boundary_mod.boundary_figure(
            np.arange(5.0), np.arange(5.0), np.zeros((1, 5, 5, 2)), titles=["a"], X_train=np.zeros((1, 2)),
            y_train=np.zeros(1), X_val=np.zeros((0, 2)), y_val=np.zeros(0), value_range=(-1, 1),
        )  # fmt: skip


# ---- the app (AppTest) --------------------------------------------------------------------------


def test_a_regression_url_trains_and_draws_value_panels():
    at = run_app(REG)
    at.button(key="step").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    fig = boundary(at)
    assert fig["layout"]["coloraxis"]["colorbar"]["title"]["text"] == "value"
    assert len(fig["layout"]["images"]) == 2
    titles = [a["text"] for a in fig["layout"]["annotations"] if "·" in a["text"]]
    assert all("val R²" in t for t in titles), titles
    curves = charts(at)["curves"]
    assert any("R²" in a["text"] for a in curves["layout"]["annotations"])
    sidebar = [w.label for w in at.sidebar.slider]
    assert "Classes" not in sidebar, "regression has no classes to choose"
    loss = next(s for s in at.sidebar.selectbox if s.label == "Loss")
    assert loss.disabled


def test_the_dataset_picker_and_the_presets_list_regression():
    at = run_app({"epochs": "20"})
    dataset = next(s for s in at.sidebar.selectbox if s.label == "Dataset")
    assert {"Plane (regression)", "Gaussian bumps (regression)"} <= set(dataset.options)
    dataset.set_value("plane").run()
    at.button(key="step").click().run()
    assert not at.exception and not at.error
    assert boundary(at)["layout"]["coloraxis"]["colorbar"]["title"]["text"] == "value"
    at = run_app({"preset": "11-regression-bumps"})
    assert not at.error and "Regression: ReLU" in " ".join(i.value for i in at.info)


def test_draw_points_says_it_draws_classes_on_a_regression():
    at = run_app(REG)
    at.toggle(key="draw_on").set_value(True).run()
    assert not at.exception and not at.error
    assert any("Draw points adds points of a class" in i.value for i in at.info)
    payload = next(
        json.loads(e.proto.bytes)
        for e in at.get("bidi_component")
        if json.loads(e.proto.bytes)["name"] == "boundary"
    )
    assert not payload.get("draw"), "no drawing on a regression's panels"


def test_every_tab_shows_a_regression_without_an_error():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in dict(REG, n_seeds="2").items():
        at.query_params[key] = value
    at.run()
    at.button(key="step").click().run()
    for tab in ("Network", "Diagnostics", "Neurons", "Replay", "Seeds", "Compare"):
        at.session_state["main_tab"] = tab
        at.run()
        assert not at.exception and not at.error, (tab, [e.value for e in at.error])


# ---- the real browser ---------------------------------------------------------------------------


def test_a_regression_trains_live_in_chromium(chromium, app_server, page, tmp_path):
    url, _, _ = app_server
    page.goto(
        url + "/?dataset=multigauss&act=relu,tanh,linear&epochs=5000&batch_size=8",
        wait_until="domcontentloaded",
    )
    info = wait_for_boundary(page, 3)
    assert all("R²" in t or "untrained" in t or "epoch 1" in t for t in info["titles"] if "·" in t)
    chart = '.nnviz-chart[data-chart="boundary"]'
    counts = f"""() => {{ const d = document.querySelector('{chart}');
                          return {{frames: Number(d.dataset.frames || 0), source: d.layout.images[0].source,
                                  bar: d._fullLayout.coloraxis.colorbar.title.text,
                                  markers: d._fullData.filter(t => t.marker && t.marker.coloraxis).length}}; }}"""
    before = page.evaluate(counts)
    epoch = epoch_of(page)
    page.wait_for_timeout(2500)
    after = page.evaluate(counts)
    assert epoch_of(page) > epoch and after["frames"] - before["frames"] >= 5, (before, after)
    assert after["source"] != before["source"], "the surface changes live"
    assert after["bar"] == "value" and after["markers"] >= 6, "points on the value scale, with its bar"
    page.screenshot(path=str(ARTIFACTS / "browser-regression.png"))
    # a regression CSV upload: the message says what was detected, and the comparison follows it
    path = tmp_path / "target.csv"
    rng = np.random.default_rng(2)
    path.write_text(
        "x1,x2,y\n"
        + "".join(f"{a:.3f},{b:.3f},{np.sin(2 * a) + b:.4f}\n" for a, b in rng.normal(size=(150, 2)))
    )
    page.get_by_text("Your own data (CSV)").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    page.get_by_text("Loaded 150 points with targets from").first.wait_for(timeout=20000)
    assert "(regression)" in page.locator('[data-testid="stSidebar"]').inner_text()
    wait_for_boundary(page, 3)
    page.wait_for_function("() => location.search.includes('dataset=upload')", timeout=20000)


def test_an_r2_far_below_zero_reads_as_such_in_every_title():
    from nnviz import fmt
    from nnviz.figures.inside import epoch_titles

    assert [fmt.r2(v) for v in (0.934, -0.41, -9e8, float("nan"), None)] == [
        "0.93",
        "-0.41",
        "below -10",
        "–",
        "–",
    ]
    titles = epoch_titles(["ReLU", "Tanh"], 2, val_r2=np.array([[0.1, 0.2], [0.5, -3e7]]))
    assert titles == ["ReLU · epoch 2 · val R² 0.50", "Tanh · epoch 2 · val R² below -10"]
