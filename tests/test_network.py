"""The Network tab (issue 14): one run's network as a graph of unit pictures and weight edges.

The plain data (nnviz.analysis.network), the figure (nnviz.figures.network: one node per unit, edges
coloured by sign and wider for larger |w|, dead units marked, hover statistics), the tab in AppTest
(renders, redraws while playing), and the page in Chromium (two graphs, a large picture on hover)."""

import base64
import io
import re

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from nnviz import fmt
from nnviz.analysis.network import Network, default_pair, networks, same_start
from nnviz.config import Config
from nnviz.engine.model import reference_model
from nnviz.engine.params import Layout
from nnviz.engine.recorder import SAT_RATIO
from nnviz.experiment import Experiment
from nnviz.figures import network as netfig
from nnviz.figures.style import MUTED, rgb
from nnviz.ui.network import FULL_RESOLUTION
from tests.test_app import charts, run_app


def typed(value) -> np.ndarray:
    """An array of a figure's JSON: a list, or plotly's typed array {"dtype", "bdata"}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def spec(fig) -> dict:
    return fig.to_plotly_json()


def units_trace(figure: dict) -> dict:
    return next(t for t in figure["data"] if t.get("name") == "units")


def edge_traces(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if (t.get("meta") or {}).get("edges")]


def unit_ids(figure: dict) -> dict[tuple[float, float], tuple[int, int]]:
    """(x, y) of each unit's centre -> (column, unit), from the hover markers."""
    t = units_trace(figure)
    xs, ys = typed(t["x"]), typed(t["y"])
    return {
        (float(x), round(float(y), 2)): (int(c[1]), int(c[2]))
        for x, y, c in zip(xs, ys, t["customdata"], strict=True)
    }


def edges_of(trace: dict, ids: dict) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Every crossing of an edge in a trace: consecutive points, no gap between them."""
    xs, ys = typed(trace["x"]).astype(float), typed(trace["y"]).astype(float)
    out = []
    for i in range(len(xs) - 1):
        if np.isnan(ys[i]) or np.isnan(ys[i + 1]):
            continue
        a, b = ids[(xs[i], round(ys[i], 2))], ids[(xs[i + 1], round(ys[i + 1], 2))]
        out.append(tuple(sorted((a, b))))
    return out


def crafted(weights, biases, *, dead=None, n_classes=2) -> Network:
    """A Network of the given weight matrices ([out, in] each), with flat maps."""
    dims = (weights[0].shape[1],) + tuple(w.shape[0] for w in weights)
    r = 6
    maps = [np.linspace(-1, 1, n * r * r, dtype=np.float32).reshape(n, r, r) for n in dims]
    maps[-1] = np.full((dims[-1], r, r), 0.7, np.float32)
    per = [np.zeros(n, np.float32) for n in dims[1:]]
    dead = dead or [np.zeros(n, bool) for n in dims[1:]]
    return Network(
        run=0, activation="relu", saturating=False, dims=dims, n_classes=n_classes, epoch=3, stepped=True,
        n_points=10, maps=maps, weights=[np.asarray(w, np.float32) for w in weights],
        biases=[np.asarray(b, np.float32) for b in biases], out_mean=per, out_min=per, out_max=per,
        zero_share=per, dead=dead, saturated_share=[p + np.nan for p in per],
        saturated=[np.zeros(len(p), bool) for p in per], grad=per,
    )  # fmt: skip


def experiment(**kw) -> Experiment:
    torch.set_num_threads(1)
    cfg = Config(**{"activations": ("relu", "sigmoid"), "n_samples": 120, "epochs": 40, **kw})
    return Experiment(cfg)


def nets_of(exp: Experiment, runs, resolution=10):
    return networks(exp.trainer, runs, exp.make_grid(resolution), exp.split.mean, exp.split.scale)


# ---- the data ------------------------------------------------------------------------------------


def test_default_pair_is_relu_and_sigmoid_of_the_first_seed_else_the_first_two():
    runs = [(a, s) for a in ("tanh", "sigmoid", "relu") for s in (3, 4)]
    assert default_pair(runs) == (4, 2)
    assert default_pair([("tanh", 0), ("gelu", 0), ("relu", 0)]) == (0, 1)
    assert default_pair([("relu", 0)]) == (0, 0)
    assert same_start(runs, 4, 2) and not same_start(runs, 4, 3)


def test_the_figure_has_one_node_per_unit_of_the_dims():
    for kw in ({"hidden_layers": 3, "width": 5}, {"hidden_layers": 1, "width": 7, "dataset": "spiral3"}):
        exp = experiment(**kw)
        exp.step(2)
        net = nets_of(exp, [0])[0]
        figure = spec(netfig.network_figure(net, title="ReLU"))
        go.Figure(figure)  # plotly's validation accepts the spec unchanged
        dims = exp.trainer.dims
        assert list(net.dims) == dims and [m.shape[0] for m in net.maps] == dims
        cells = [(int(c[1]), int(c[2])) for c in units_trace(figure)["customdata"]]
        assert cells == [(col, u) for col, n in enumerate(dims) for u in range(n)]
        assert len(set(unit_ids(figure))) == sum(dims)  # every unit at a place of its own
        assert all(c[0].startswith("data:image/png;base64,") for c in units_trace(figure)["customdata"])
        notes = [a["text"] for a in figure["layout"]["annotations"]]
        names = ["inputs"] + [f"layer {i}" for i in range(1, len(dims) - 1)] + ["output"]
        assert all(n in notes for n in names) and "x<sub>1</sub>" in notes and "x<sub>2</sub>" in notes
        assert len(figure["layout"]["images"]) == 1  # every picture in one image


def test_edge_colours_follow_the_signs_and_widths_grow_with_the_weight():
    w1 = np.array([[1.0, -0.5], [0.2, -0.9], [-0.05, 0.6]])
    w2 = np.array([[0.8, -0.3, 0.1]])
    net = crafted([w1, w2], [np.zeros(3), np.zeros(1)])
    figure = spec(netfig.network_figure(net, title="t"))
    ids = unit_ids(figure)
    found = {}
    for trace in edge_traces(figure):
        crossings = edges_of(trace, ids)
        for edge in set(crossings):
            assert crossings.count(edge) == 2  # there and back: the walk never draws an edge that is not one
            assert edge not in found, "each weight in one trace"
            found[edge] = trace
    weights = {}
    for layer, w in enumerate((w1, w2)):
        for j, i in np.ndindex(w.shape):
            weights[((layer, i), (layer + 1, j))] = w[j, i]
    assert set(found) == set(weights)  # one edge per weight
    for edge, w in weights.items():
        color = found[edge]["line"]["color"]
        expected = netfig.POSITIVE if w > 0 else netfig.NEGATIVE
        r, g, b = rgb(expected).astype(int)
        assert color.startswith(f"rgba({r},{g},{b},"), (edge, w, color)
        assert found[edge]["meta"]["sign"] == (1 if w > 0 else -1)
    by_size = sorted(weights, key=lambda e: abs(weights[e]))
    widths = [found[e]["line"]["width"] for e in by_size]
    assert widths == sorted(widths) and widths[-1] > widths[0]  # wider for larger |w|
    alphas = [float(found[e]["line"]["color"].split(",")[-1][:-1]) for e in by_size]
    assert alphas == sorted(alphas)


def test_edges_are_thin_and_translucent_in_wide_networks():
    narrow, wide = netfig.edge_style([2, 8, 8, 1]), netfig.edge_style([2] + [64] * 6 + [1])
    assert all(w <= n for w, n in zip(wide[0], narrow[0], strict=True)) and max(wide[0]) < 1.5
    assert all(w < n for w, n in zip(wide[1], narrow[1], strict=True))


def test_the_edge_walk_crosses_every_edge_twice():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(2, 30))
        m = int(rng.integers(1, 60))
        us, vs = rng.integers(0, n, m), rng.integers(0, n, m)
        keep = us != vs
        us, vs = us[keep], vs[keep]
        walk = netfig.edge_walk(n, us, vs)
        crossed = {}
        for a, b in zip(walk[:-1], walk[1:], strict=True):
            if a >= 0 and b >= 0:
                crossed[tuple(sorted((a, b)))] = crossed.get(tuple(sorted((a, b))), 0) + 1
        expected = {}
        for a, b in zip(us, vs, strict=True):
            expected[tuple(sorted((int(a), int(b))))] = expected.get(tuple(sorted((int(a), int(b)))), 0) + 2
        assert crossed == expected


def kill_unit(exp: Experiment, run: int, unit: int) -> None:
    """Make hidden unit ``unit`` of layer 1 of ``run`` output 0 on every point (ReLU): bias -100."""
    trainer = exp.trainer
    slot = Layout(trainer.dims, prelu=False, batch_norm=False).slots[0]["b"]
    trainer.params[run, slot.start + unit] = -100.0


def sprite_of(figure: dict) -> tuple[np.ndarray, float]:
    image = figure["layout"]["images"][0]
    pixels = np.asarray(
        Image.open(io.BytesIO(base64.b64decode(image["source"].split(",")[1]))).convert("RGB")
    )
    return pixels, pixels.shape[0] / image["sizey"]  # px of the sprite per y unit (px of the drawing)


def unit_box(figure: dict, pixels: np.ndarray, scale: float, col: int, unit: int) -> np.ndarray:
    """The sprite's pixels inside one unit's picture (its frame left out)."""
    t = units_trace(figure)
    cells = [(int(c[1]), int(c[2])) for c in t["customdata"]]
    k = cells.index((col, unit))
    image = figure["layout"]["images"][0]
    x, y, size = typed(t["x"])[k], typed(t["y"])[k], typed(t["marker"]["size"])[k]
    cx = (x - image["x"]) / image["sizex"] * pixels.shape[1]
    cy = (image["y"] - y) * scale
    half = size / 2 * scale - 2 * scale
    return pixels[int(cy - half) : int(cy + half), int(cx - half) : int(cx + half)]


def test_dead_units_are_marked_exactly_when_all_their_outputs_are_zero():
    exp = experiment(width=6)
    exp.step(3)
    kill_unit(exp, 0, 2)  # ReLU: dead
    kill_unit(exp, 1, 2)  # Sigmoid: saturated, not dead (its zeros are saturation)
    nets = nets_of(exp, [0, 1])
    hidden = exp.trainer.hidden_outputs(exp.trainer.train_inputs)
    for net in nets:
        figure = spec(netfig.network_figure(net, title="t"))
        pixels, scale = sprite_of(figure)
        flags = {(int(c[1]), int(c[2])): c[3] for c in units_trace(figure)["customdata"]}
        for layer, h in enumerate(hidden):
            zero = (h[net.run] == 0).all(-1)
            expected = zero & (net.activation == "relu")
            np.testing.assert_array_equal(net.dead[layer], expected)
            for u in range(len(zero)):
                assert flags[(layer + 1, u)] == bool(expected[u])
                box = unit_box(figure, pixels, scale, layer + 1, u).reshape(-1, 3)
                colors = {tuple(c) for c in box}
                flat = colors <= {tuple(rgb(netfig.DEAD_FILL).astype(int)), tuple(rgb(MUTED).astype(int))}
                assert flat == bool(expected[u]), (net.activation, layer, u, len(colors))
        assert net.dead[0][2] == (net.activation == "relu")
    assert nets[1].saturated[0][2] and nets[1].saturated_share[0][2] == 1.0
    hover = units_trace(spec(netfig.network_figure(nets[0], title="t")))["text"]
    assert sum("<b>dead</b>" in t for t in hover) == sum(int(d.sum()) for d in nets[0].dead)


def test_hover_statistics_equal_an_independent_computation():
    exp = experiment(width=5, hidden_layers=2)
    exp.step(7)
    trainer = exp.trainer
    before = {run: trainer.state_dict(run) for run in range(trainer.n_runs)}
    exp.step(1)  # full batch: the last step's gradient is taken at the weights before it
    x = torch.from_numpy(exp.split.X_train.astype(np.float32))
    y = torch.from_numpy(exp.split.y_train.astype(np.float32))
    nets = nets_of(exp, [0, 1])
    for net in nets:
        act, seed = trainer.runs[net.run]
        cfg = exp.cfg
        model = reference_model(trainer.dims, act, cfg.params_for(act), scheme=cfg.init, seed=seed)
        model.load_state_dict(before[net.run])
        loss = F.binary_cross_entropy_with_logits(model(x)[:, 0], y)
        loss.backward()
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        after = trainer.state_dict(net.run)
        model.load_state_dict(after)
        with torch.no_grad():
            outs, a = [], x
            for m in model:
                a = m(a)
                if not isinstance(m, torch.nn.Linear):
                    outs.append(a.numpy().T)  # [width, N] after each activation
            logits = a.numpy().T
        figure = spec(netfig.network_figure(net, title="t"))
        data = {(int(c[1]), int(c[2])): c for c in units_trace(figure)["customdata"]}
        texts = dict(zip(data, units_trace(figure)["text"], strict=True))
        for layer, lin in enumerate(linears):
            grad = lin.weight.grad.abs().mean(1).numpy()
            np.testing.assert_allclose(net.grad[layer], grad, rtol=1e-3, atol=1e-7)
            np.testing.assert_allclose(net.biases[layer], after[f"{2 * layer}.bias"].numpy(), rtol=1e-6)
            h = outs[layer] if layer < len(outs) else logits
            np.testing.assert_allclose(net.out_mean[layer], h.mean(1), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(net.out_max[layer], h.max(1), rtol=1e-4, atol=1e-5)
            for u in range(h.shape[0]):
                cd, text = data[(layer + 1, u)], texts[(layer + 1, u)]
                assert cd[5] == pytest.approx(float(grad[u]), rel=1e-3, abs=1e-7)
                assert f"{float(net.grad[layer][u]):.2g}" in text
                if layer == len(outs):
                    continue  # the output: no share
                if act == "relu":
                    share = float((h[u] == 0).mean())
                    assert f"exactly 0 on {fmt.pct(share, 0)}" in text or "<b>dead</b>" in text
                else:  # sigmoid: f'(z) = a (1 - a), f'(0) = 1/4
                    share = float((h[u] * (1 - h[u]) < SAT_RATIO * 0.25).mean())
                    assert f"on {fmt.pct(share, 0)} of them" in text
                assert cd[4] == pytest.approx(share, abs=1e-6)


def test_two_runs_of_one_seed_share_their_initial_weights():
    exp = experiment(n_seeds=2, width=4)
    runs = exp.trainer.runs  # relu seeds 0, 1, sigmoid seeds 0, 1
    pair = default_pair(runs)
    assert [runs[k] for k in pair] == [("relu", 0), ("sigmoid", 0)]
    nets = nets_of(exp, [0, 1, 2])
    traces = [[(t["name"], t["x"], t["y"], t["line"]) for t in edge_traces(spec(netfig.network_figure(n, title="t")))]
              for n in nets]  # fmt: skip
    relu0, relu1, sigmoid0 = traces
    assert relu0 == sigmoid0  # epoch 0: the same edges
    assert relu0 != relu1  # another seed: other initial weights
    for a, b in zip(nets[0].weights, nets[2].weights, strict=True):
        np.testing.assert_array_equal(a, b)
    exp.step(5)
    later = nets_of(exp, [0, 2])
    assert not all(np.array_equal(a, b) for a, b in zip(later[0].weights, later[1].weights, strict=True))


def test_six_layers_of_64_units_build_quickly_and_small():
    exp = experiment(hidden_layers=6, width=64, epochs=3)
    exp.step(1)
    net = nets_of(exp, [0], resolution=FULL_RESOLUTION)[0]
    figure = spec(netfig.network_figure(net, title="t"))
    n_edges = sum(w.size for w in net.weights)
    assert n_edges == 2 * 64 + 5 * 64 * 64 + 64
    edges = edge_traces(figure)
    assert len(edges) <= 8  # one trace per (sign, width bucket)
    # a walk, not 20k segments: gaps only between its connected parts (Plotly draws a path per part)
    assert sum(int(np.isnan(typed(t["y"])).sum()) for t in edges) < 200
    assert max(t["line"]["width"] for t in edges) < 1.5


# ---- the tab (AppTest) ------------------------------------------------------------------------------


def network_captions(at) -> list[str]:
    return [c.value for c in at.caption if re.match(r"Epoch \d+ / \d+", c.value)]


def test_the_network_tab_renders_two_runs():
    at = run_app({"act": "sigmoid,relu", "epochs": "30"})
    at.session_state["main_tab"] = "Network"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    figures = charts(at)
    assert {"network_0", "network_1"} <= set(figures)
    assert at.selectbox(key="network_run_a").value == 1 and at.selectbox(key="network_run_b").value == 0
    titles = [figures[k]["layout"]["title"]["text"] for k in ("network_0", "network_1")]
    assert "ReLU" in titles[0] and "Sigmoid" in titles[1]
    at.selectbox(key="network_run_b").set_value(1).run()  # the same run twice is allowed
    assert not at.exception


def test_while_playing_each_fragment_run_trains_and_redraws():
    at = run_app({"act": "relu,sigmoid", "epochs": "5000", "n_samples": "200"})
    at.session_state["main_tab"] = "Network"
    at.run()
    assert at.session_state["nnviz"].playing
    seen = []
    for _ in range(3):
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        fig = charts(at)["network_0"]
        seen.append(
            (
                at.session_state["nnviz"].experiment.epoch,
                network_captions(at)[0],
                fig["layout"]["images"][0]["source"],
            )
        )
    epochs = [e for e, _, _ in seen]
    assert epochs == sorted(epochs) and epochs[0] < epochs[-1]
    assert all("training" in c for _, c, _ in seen)
    assert len({c for _, c, _ in seen}) == 3  # the caption follows the epoch
    assert len({s for _, _, s in seen}) == 3  # and the pictures are redrawn
    at.button(key="network_play").click().run()  # Pause: drawn at the full resolution
    assert not at.session_state["nnviz"].playing
    assert "training" not in network_captions(at)[0]


# ---- the page (Chromium) ------------------------------------------------------------------------------

UNIT_JS = """([chart, column, index]) => {
  const d = document.querySelector(`.nnviz-chart[data-chart="${chart}"]`);
  const t = d._fullData.find(t => t.name === 'units');
  const k = t.customdata.findIndex(c => c[1] === column && c[2] === index);
  const xa = d._fullLayout.xaxis, ya = d._fullLayout.yaxis, r = d.querySelector('.main-svg').getBoundingClientRect();
  return [r.left + xa._offset + xa.l2p(t.x[k]), r.top + ya._offset + ya.l2p(t.y[k])];
}"""


def test_the_network_tab_in_the_browser(chromium, app_server, page):
    from tools.harness import ARTIFACTS, wait_for_boundary

    url, _, _ = app_server
    page.goto(url + "/?act=relu,sigmoid&epochs=60", wait_until="domcontentloaded")
    wait_for_boundary(page, 2, timeout_s=60)
    page.get_by_role("tab", name="Network").click()
    page.wait_for_function(
        """() => ['network_0', 'network_1'].every(k => {
             const d = document.querySelector(`.nnviz-chart[data-chart="${k}"]`);
             return d && d._fullData && d._fullData.some(t => t.name === 'units'); })""",
        timeout=60000,
    )
    info = page.evaluate(
        """() => ['network_0', 'network_1'].map(k => {
             const d = document.querySelector(`.nnviz-chart[data-chart="${k}"]`);
             const units = d._fullData.find(t => t.name === 'units');
             return [units.x.length, d.querySelectorAll('.imagelayer image, .layer-above image').length,
                     d.querySelectorAll('path.js-line').length, d._fullLayout.title.text]; })"""
    )
    for n_units, images, paths, _ in info:
        assert n_units == 2 + 8 + 8 + 1 and images == 1 and paths >= 2  # default 2 x 8 units
    assert "ReLU" in info[0][3] and "Sigmoid" in info[1][3]
    page.get_by_text("Epoch 60 / 60").wait_for(timeout=60000)  # trained: the page holds still
    page.get_by_role("button", name="Play").wait_for(timeout=15000)
    page.wait_for_timeout(1000)
    for _ in range(3):  # (a redraw may land while the mouse moves: then once more)
        x, y = page.evaluate(UNIT_JS, ["network_0", 1, 3])
        page.mouse.move(x - 40, y - 40)
        page.mouse.move(x, y, steps=5)
        page.wait_for_timeout(300)
        page.mouse.move(x + 1, y + 1)  # Plotly throttles hover events: the last one lands on the unit
        page.wait_for_timeout(300)
        if "unit 4" in (page.locator(".hoverlayer .hovertext").first.text_content() or ""):
            break
    picture = page.locator(".nnviz-hover-picture img")
    picture.wait_for(state="visible", timeout=5000)
    assert picture.get_attribute("src").startswith("data:image/png;base64,")
    box = picture.bounding_box()
    assert box["width"] >= 150 and box["height"] >= 150
    label = page.locator(".hoverlayer .hovertext").first.text_content()
    assert "layer 1 · unit 4" in label and "training points" in label
    page.screenshot(path=str(ARTIFACTS / "browser-network-hover.png"))
    page.mouse.move(5, 5)
    page.locator(".nnviz-hover-picture").wait_for(state="detached", timeout=5000)
