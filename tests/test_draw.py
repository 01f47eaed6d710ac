"""Draw points on the Compare tab (nnviz/ui/draw.py, charts.js drawPoints).

The Python side with AppTest: what the chart component sends is simulated as the trigger value it
sets (``setTriggerValue("edits", ...)``), through AppTest's own run with one more widget state.
The browser side with the system Chromium (skipped without it unless NNVIZ_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.testing.v1 import AppTest

from nnviz.config import UPLOAD
from nnviz.data.upload import MIN_PER_CLASS, MIN_ROWS, parse_csv
from nnviz.ui import compare
from nnviz.ui.session import DrawOrigin, DrawState
from tools.harness import ARTIFACTS, epoch_of, wait_for_boundary

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60


# ---- AppTest helpers ----------------------------------------------------------------------------


def run_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in {"epochs": "40", **(query or {})}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def drawing_on(query: dict | None = None) -> AppTest:
    at = run_app(query)
    at.toggle(key="draw_on").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def payloads(at: AppTest) -> dict[str, dict]:
    """What every chart component got, by chart key."""
    found = {}
    for element in at.get("bidi_component"):
        payload = json.loads(element.proto.bytes)
        found[payload["name"]] = payload | {"_id": element.proto.id}
    return found


def send(at: AppTest, message, chart: str = "boundary") -> AppTest:
    """The chart ``chart`` sends ``message`` as its "edits" trigger value (as charts.js drawSend does)."""
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = _make_trigger_id(payloads(at)[chart]["_id"], "events")
    state.json_trigger_value = json.dumps([{"event": "edits", "value": message}])
    at._run(states)
    assert not at.exception, [e.value for e in at.exception]
    return at


def session(at: AppTest):
    return at.session_state["nnviz"]


def edits(at: AppTest, *items: tuple, start: int | None = None) -> dict:
    """A message with ``items`` ((op, x, y[, class])) numbered after the last edit applied."""
    first = session(at).draw.last_id + 1 if start is None else start
    out = []
    for i, (op, x, y, *c) in enumerate(items, start=first):
        edit = {"id": i, "op": op, "x": x, "y": y}
        if c:
            edit["c"] = c[0]
        out.append(edit)
    return {"canvas": session(at).draw.canvas, "edits": out}


def dataset_rows(at: AppTest) -> list[list[str]]:
    """The Dataset CSV download's rows (without the header), for the experiment on screen."""
    rows = list(csv.reader(io.StringIO(compare._dataset_csv(session(at).experiment))))
    assert rows[0] == ["x1", "x2", "label"]
    return rows[1:]


def infos(at: AppTest) -> list[str]:
    return [i.value for i in at.info]


# ---- the Python side ----------------------------------------------------------------------------


def test_draw_points_is_off_by_default_and_its_controls_appear_with_it():
    at = run_app()
    assert payloads(at)["boundary"]["draw"] is None
    assert not any(b.key == "draw_undo" for b in at.button)
    at.toggle(key="draw_on").set_value(True).run()
    spec = payloads(at)["boundary"]
    assert spec["draw"]["classes"] == 2 and spec["draw"]["ack"] == 0 and spec["draw"]["cls"] == 0
    assert spec["config"]["doubleClick"] is False  # two quick clicks: two points, not a zoom reset
    assert at.button(key="draw_undo").disabled and at.button(key="draw_clear").disabled
    assert at.radio(key="draw_start").value == "data"
    assert session(at).draw.n_classes == 2 and len(session(at).draw.y) == 400


def test_three_clicks_become_the_data_like_an_upload_and_restart_from_the_same_seed():
    at = drawing_on({"seed": "7", "width": "12"})
    before = session(at).experiment
    rev = payloads(at)["boundary"]["figure"]["layout"]["uirevision"]
    send(at, edits(at, ("add", 0.1, 0.2, 1), ("add", -1.0, 1.2, 0), ("add", 2.0, -0.5, 1)))
    s = session(at)
    exp = s.experiment
    assert exp is not before and exp.epoch <= 10 and s.playing  # restarted (and trains again)
    assert exp.cfg.dataset == UPLOAD and exp.data_token == s.upload[0] == s.draw.token
    assert (exp.cfg.seed, exp.cfg.width) == (7, 12)  # everything else stays
    assert at.query_params["dataset"] == UPLOAD and at.query_params["seed"] == "7"
    assert len(exp.split.y_val) >= 0.3 * 403 - 1  # a validation part is held out as for any data
    rows = dataset_rows(at)
    assert len(rows) == 403
    assert {(float(a), float(b), int(c)) for a, b, c in rows} >= {
        (0.1, 0.2, 1),
        (-1.0, 1.2, 0),
        (2.0, -0.5, 1),
    }
    spec = payloads(at)["boundary"]
    assert spec["draw"]["ack"] == 3  # the browser drops what is applied
    assert spec["figure"]["layout"]["uirevision"] == rev  # the zoom stays
    assert not at.error


def test_the_dataset_csv_of_a_drawing_comes_back_by_upload():
    at = drawing_on()
    send(at, edits(at, ("add", 0.5, 0.5, 0), ("add", 0.6, 0.4, 1)))
    text = compare._dataset_csv(session(at).experiment)
    data = parse_csv(text.encode())
    assert len(data.y) == 402 and data.n_classes == 2
    drawn = session(at).draw

    def ordered(X, y):  # the points as rows (x1, x2, class), in one order
        rows = np.column_stack([np.asarray(X, dtype=np.float64), y])
        return rows[np.lexsort(rows.T[::-1])]

    assert np.allclose(ordered(data.X, data.y), ordered(drawn.X, drawn.y), atol=1e-4)


def test_a_message_sent_twice_or_late_changes_nothing_twice():
    at = drawing_on()
    message = edits(at, ("add", 0.1, 0.1, 0), ("add", 0.2, 0.2, 1))
    send(at, message)
    exp = session(at).experiment
    send(at, message)  # again (the browser retries when it does not hear back)
    assert len(session(at).draw.y) == 402 and session(at).experiment is exp
    message["edits"].append({"id": 3, "op": "add", "x": 0.3, "y": 0.3, "c": 1})  # one more since
    send(at, message)
    assert len(session(at).draw.y) == 403 and session(at).draw.last_id == 3


def test_alt_click_removes_the_nearest_point_and_undo_puts_it_back():
    at = drawing_on()
    d = session(at).draw
    x, y = d.X[17]
    send(at, edits(at, ("remove", float(x) + 1e-4, float(y))))
    assert len(session(at).draw.y) == 399 and len(dataset_rows(at)) == 399
    far = edits(at, ("remove", 50.0, 50.0))
    far["edits"][0]["r"] = 0.1  # nothing within reach of the click: nothing is removed
    send(at, far)
    assert len(session(at).draw.y) == 399
    at.button(key="draw_undo").click().run()
    d = session(at).draw
    assert len(d.y) == 400 and tuple(d.X[17]) == (x, y) and not d.history
    # every drawn change undone: the data are the dataset's again (not an upload of its points)
    assert session(at).experiment.cfg.dataset == "moons" and "dataset" not in at.query_params


def test_undo_removes_the_last_point_and_clear_the_drawn_ones():
    at = drawing_on()
    send(at, edits(at, ("add", 0.1, 0.1, 0), ("add", 0.2, 0.2, 1), ("add", 0.3, 0.3, 1)))
    assert len(dataset_rows(at)) == 403
    at.button(key="draw_undo").click().run()
    assert len(dataset_rows(at)) == 402 and tuple(session(at).draw.X[-1]) == (0.2, 0.2)
    canvas = session(at).draw.canvas
    at.button(key="draw_clear").click().run()
    assert not at.exception
    d = session(at).draw
    assert len(dataset_rows(at)) == 400 and d.canvas != canvas and not d.history
    assert session(at).experiment.cfg.dataset == "moons" and session(at).upload is None
    send(at, {"canvas": canvas, "edits": [{"id": 9, "op": "add", "x": 0, "y": 0, "c": 0}]})  # too late
    assert len(session(at).draw.y) == 400


def test_an_empty_plane_says_how_many_more_points_it_needs_and_keeps_them():
    at = drawing_on()
    at.radio(key="draw_start").set_value("empty").run()
    assert not at.exception
    assert "boundary" not in payloads(at) and "draw_canvas" in payloads(at)
    assert payloads(at)["draw_canvas"]["draw"]["classes"] == 5  # a blank canvas: up to 5 classes
    assert any(f"{MIN_ROWS} more points to start training" in t for t in infos(at)), infos(at)
    send(at, edits(at, *[("add", 0.1 * i, 0.0, 0) for i in range(5)]), chart="draw_canvas")
    assert any("15 more points" in t and f"{MIN_PER_CLASS} of class 1" in t for t in infos(at)), infos(at)
    assert session(at).experiment.cfg.dataset == "moons"  # the dataset stays meanwhile
    assert len(session(at).draw.y) == 5 and not at.error
    canvas = payloads(at)["draw_canvas"]["figure"]
    assert len(canvas["layout"]["images"]) == 4 and "waiting for points" in str(
        canvas["layout"]["annotations"]
    )
    # a class used needs its classes below: points of class 3 alone leave 1 and 2 missing
    send(at, edits(at, ("add", 1.0, 1.0, 3)), chart="draw_canvas")
    text = " ".join(infos(at))
    assert "of class 1" in text and "of class 2" in text and "of class 3" in text
    at.button(key="draw_undo").click().run()
    # 12 of class 1 and 3 more of class 0: 20 points in 2 classes, enough
    send(at, edits(at, *[("add", 0.1 * i, 1.0, 1) for i in range(12)]), chart="draw_canvas")
    send(at, edits(at, *[("add", 0.1 * i, -1.0, 0) for i in range(3)]), chart="draw_canvas")
    assert "draw_canvas" not in payloads(at) and "boundary" in payloads(at)
    exp = session(at).experiment
    assert exp.cfg.dataset == UPLOAD and exp.split.n_classes == 2 and len(dataset_rows(at)) == 20
    assert session(at).draw.n_classes == 5  # the picker keeps the blank canvas's classes
    at.radio(key="draw_start").set_value("data").run()  # the dataset's points again
    assert session(at).experiment.cfg.dataset == "moons" and len(session(at).draw.y) == 400


@pytest.mark.parametrize(
    "message",
    [
        None,
        "junk",
        [1, 2, 3],
        {"canvas": "not-this-one", "edits": [{"id": 1, "op": "add", "x": 0, "y": 0, "c": 0}]},
        {"canvas": "CANVAS", "edits": "all of them"},
        {"canvas": "CANVAS", "edits": [None, 3, "x", {"id": "1"}, {"id": True, "op": "add"}]},
        {"canvas": "CANVAS", "edits": [{"id": 1, "op": "add", "x": "NaN", "y": 0, "c": 0}]},
        {"canvas": "CANVAS", "edits": [{"id": 1, "op": "add", "x": 1e300, "y": 0, "c": 0}]},
        {"canvas": "CANVAS", "edits": [{"id": 1, "op": "add", "x": 0, "y": 0, "c": 7}]},
        {"canvas": "CANVAS", "edits": [{"id": 1, "op": "add", "x": 0, "y": 0, "c": 0.5}]},
        {"canvas": "CANVAS", "edits": [{"id": 1, "op": "explode", "x": 0, "y": 0}]},
        {"canvas": "CANVAS", "edits": [{"id": -4, "op": "add", "x": 0, "y": 0, "c": 0}]},
        {
            "canvas": "CANVAS",
            "edits": [{"id": i, "op": "add", "x": 0, "y": 0, "c": 0} for i in range(1, 3000)],
        },
    ],
)
def test_a_bad_message_is_ignored_without_a_traceback(message):
    at = drawing_on()
    exp = session(at).experiment
    if isinstance(message, dict) and message.get("canvas") == "CANVAS":
        message = message | {"canvas": session(at).draw.canvas}
    send(at, message)
    assert not at.exception and not at.error
    assert len(session(at).draw.y) == 400 and session(at).experiment is exp
    assert exp.cfg.dataset == "moons"


def test_clicks_while_training_restart_it_and_a_stale_dataset_value_does_not_undo_them():
    """A playing page's fragment timers keep sending the Dataset widget's old value until the page has
    it again; held, the drawing's value wins over it for a moment (nnviz/ui/session.py set_widget)."""
    at = drawing_on({"epochs": "5000"})
    assert session(at).playing
    send(at, edits(at, ("add", 0.1, 0.1, 0)))
    exp = session(at).experiment
    assert exp.cfg.dataset == UPLOAD and session(at).playing
    at.selectbox(key="w_dataset").set_value("moons").run()  # what such a stale request says
    assert session(at).experiment is exp and at.selectbox(key="w_dataset").value == UPLOAD


def test_after_the_hold_the_old_dataset_can_be_picked_again(monkeypatch):
    monkeypatch.setattr("nnviz.ui.session.HOLD_SECONDS", 0.0)
    at = drawing_on()
    send(at, edits(at, ("add", 0.1, 0.1, 0)))
    assert session(at).experiment.cfg.dataset == UPLOAD
    at.selectbox(key="w_dataset").set_value("moons").run()  # the user's own choice: it counts
    assert session(at).experiment.cfg.dataset == "moons"
    d = session(at).draw
    assert not d.history and len(d.y) == 400  # and the drawing starts again from its points


def test_another_dataset_starts_a_new_drawing_from_its_points():
    at = drawing_on()
    send(at, edits(at, ("add", 0.1, 0.1, 0)))
    at.selectbox(key="w_dataset").set_value("spiral3").run()  # (not the value held: it counts)
    d = session(at).draw
    assert session(at).experiment.cfg.dataset == "spiral3"
    assert d.n_classes == 3 and not d.history and len(d.y) == len(dataset_rows(at))
    assert payloads(at)["boundary"]["draw"]["classes"] == 3


def test_the_class_picker_says_which_class_a_click_adds():
    at = drawing_on({"dataset": "spiral3"})
    at.segmented_control(key="draw_class").set_value(2).run()
    assert payloads(at)["boundary"]["draw"]["cls"] == 2
    send(at, edits(at, ("add", 0.0, 0.0, 2)))
    assert session(at).draw.y[-1] == 2


def test_two_sessions_never_share_a_drawing():
    first = drawing_on()
    send(first, edits(first, ("add", 0.1, 0.1, 0)))
    second = run_app()
    assert session(second).draw.origin is None and session(second).upload is None
    assert len(dataset_rows(second)) == 400 and len(dataset_rows(first)) == 401


# ---- the drawing's state alone --------------------------------------------------------------------


def origin(n: int = 6) -> DrawOrigin:
    X = np.column_stack([np.arange(n, dtype=float), np.zeros(n)])
    return DrawOrigin(X, np.arange(n) % 2, 2, "k", {"w_dataset": "moons"}, None, None, (0.0, 5.0, -1.0, 1.0))


def test_undo_takes_edits_back_last_first_whatever_they_were():
    d = DrawState()
    d.start(origin(), empty=False)
    msg = {
        "canvas": d.canvas,
        "edits": [
            {"id": 1, "op": "remove", "x": 2.1, "y": 0.0},
            {"id": 2, "op": "add", "x": 9.0, "y": 9.0, "c": 1},
            {"id": 3, "op": "remove", "x": 0.0, "y": 0.1},
            {"id": 3, "op": "add", "x": 7.0, "y": 7.0, "c": 0},  # an id twice: the first counts
        ],
    }
    assert d.apply(msg) == 3 and d.counts() == (1, 2)
    assert d.X.tolist() == [[1, 0], [3, 0], [4, 0], [5, 0], [9, 9]] and d.y.tolist() == [1, 1, 0, 1, 1]
    while d.undo():
        pass
    assert d.X.tolist() == origin().X.tolist() and d.y.tolist() == origin().y.tolist()


def test_what_a_drawing_misses_follows_the_upload_rules():
    d = DrawState()
    d.start(origin(), empty=True)
    assert d.missing() == (MIN_ROWS, {0: MIN_PER_CLASS, 1: MIN_PER_CLASS})
    d.apply(
        {"canvas": d.canvas, "edits": [{"id": i, "op": "add", "x": 0, "y": i, "c": 0} for i in range(1, 31)]}
    )
    assert d.missing() == (MIN_PER_CLASS, {1: MIN_PER_CLASS})
    d.apply(
        {"canvas": d.canvas, "edits": [{"id": 40 + i, "op": "add", "x": 1, "y": i, "c": 1} for i in range(2)]}
    )
    assert d.missing() == (0, {})
    assert math.isclose(d.X[-1, 1], 1.0)


# ---- the browser ----------------------------------------------------------------------------------

CHART = '.nnviz-chart[data-chart="boundary"]'


def open_drawing(page, url: str, query: str = "?epochs=3000") -> None:
    page.goto(url + "/" + query, wait_until="domcontentloaded")
    wait_for_boundary(page, 4, timeout_s=60)
    page.get_by_text("Draw points", exact=True).click()
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('{CHART}'); return d && d.dataset.drawing === 'on'; }}",
        timeout=30000,
    )


def chart_state(page) -> dict:
    return page.evaluate(
        f"""() => {{ const d = document.querySelector('{CHART}');
                     const s = d && d._nnvizDrawing;
                     return {{sent: Number(d.dataset.drawSent || 0), pending: s ? s.pending.length : -1,
                              acked: s ? s.acked : -1, marked: d.__marked === true,
                              range: d._fullLayout.xaxis.range.slice()}}; }}"""
    )


def click_panel(page, fx: float, fy: float, modifiers: list | None = None) -> None:
    """A click at (fx, fy) of the first panel's plot area (fractions from its top left)."""
    box = page.locator(f"{CHART} .draglayer .xy .nsewdrag").bounding_box()
    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    for key in modifiers or []:
        page.keyboard.down(key)
    page.mouse.down()
    page.mouse.up()
    for key in modifiers or []:
        page.keyboard.up(key)


def wait_applied(page, edits: int) -> None:
    """Until the server has applied ``edits`` edits and the figure with them is drawn."""
    page.wait_for_function(
        f"""() => {{ const s = document.querySelector('{CHART}')._nnvizDrawing;
                     return s && s.acked >= {edits} && s.pending.length === 0; }}""",
        timeout=30000,
    )
    page.wait_for_timeout(500)


def download_rows(page) -> list[list[str]]:
    exports = page.get_by_text("Export: CSV, config, weights, HTML report, data")
    if not page.get_by_role("button", name="Dataset CSV").is_visible():
        exports.click()
        # opening the expander reruns the page, which makes its buttons again: a click on the old
        # button in between starts a download that the rerun cancels (no person clicks that fast)
        page.get_by_role("button", name="Dataset CSV").wait_for(timeout=30000)
        page.wait_for_timeout(1500)
    with page.expect_download(timeout=30000) as download:
        page.get_by_role("button", name="Dataset CSV").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0] == ["x1", "x2", "label"]
    return rows[1:]


def class_counts(rows) -> list[int]:
    return np.bincount([int(r[2]) for r in rows], minlength=2).tolist()


@pytest.mark.parametrize("server", ["app_server", "app_only_server"])
def test_three_clicks_add_three_points_and_restart_the_comparison(chromium, request, page, server):
    """Served by serve.py the chart is drawn by full runs; by app.py alone it is in the boundaries
    fragment, whose clicks rerun the whole page."""
    url, _, _ = request.getfixturevalue(server)
    open_drawing(page, url)
    page.evaluate(f"() => {{ document.querySelector('{CHART}').__marked = true; }}")
    # a zoom first (a drag across the panel): it stays while drawing
    box = page.locator(f"{CHART} .draglayer .xy .nsewdrag").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.9, steps=5)
    page.mouse.up()
    zoomed = chart_state(page)["range"]
    page.wait_for_timeout(1500)
    epoch = epoch_of(page)
    assert epoch > 20, "training was under way"
    start = time.monotonic()
    for fx, fy in ((0.2, 0.3), (0.5, 0.6), (0.8, 0.4)):  # (some of them on empty places)
        click_panel(page, fx, fy)
        page.wait_for_timeout(120)
    quick = time.monotonic() - start < 0.6  # (on a busy machine the clicks may take longer than a pause)
    state = chart_state(page)
    if quick:
        assert state["pending"] == 3 and state["sent"] == 0, "batched: nothing sent while clicking"
        assert page.locator(f"{CHART} .nnviz-draw-layer circle").count() >= 3 * 2, "shown at once"
    wait_applied(page, 3)
    state = chart_state(page)
    if quick:
        assert state["sent"] == 1, "one message for the three clicks"
    assert state["marked"] and state["range"] == zoomed, "the same chart, and the user's zoom"
    page.wait_for_function("() => location.search.includes('dataset=upload')", timeout=20000)
    assert epoch_of(page) < epoch + 200, "the comparison started again"
    rows = download_rows(page)
    assert len(rows) == 403 and class_counts(rows) == [203, 200]
    page.screenshot(path=str(ARTIFACTS / f"browser-draw-{server}.png"))


def test_undo_clear_shift_click_and_a_second_context(chromium, app_server, page):
    url, _, _ = app_server
    open_drawing(page, url, "?epochs=300")
    for fx, fy in ((0.3, 0.3), (0.6, 0.6)):
        click_panel(page, fx, fy)
        page.wait_for_timeout(100)
    click_panel(page, 0.4, 0.8, modifiers=["Shift"])  # the next class: 1
    wait_applied(page, 3)
    rows = download_rows(page)
    assert len(rows) == 403 and class_counts(rows) == [202, 201]
    page.get_by_role("button", name="Undo", exact=True).click()
    page.get_by_text("402 points, 2 added").wait_for(timeout=20000)
    rows = download_rows(page)
    assert len(rows) == 402 and class_counts(rows) == [202, 200], "the last (shift-click) point went"
    # another browser meanwhile: its own session, without this one's points
    other = page.context.browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        second = other.new_page()
        second.goto(url + "/?epochs=300", wait_until="domcontentloaded")
        wait_for_boundary(second, 4, timeout_s=60)
        assert "dataset=upload" not in second.url
        assert len(download_rows(second)) == 400
        assert second.get_by_role("button", name="Undo", exact=True).count() == 0
    finally:
        other.close()
    page.get_by_role("button", name="Clear", exact=True).click()
    page.get_by_text("400 points, 0 added").wait_for(timeout=20000)
    page.wait_for_function("() => !location.search.includes('dataset=upload')", timeout=20000)
    rows = download_rows(page)
    assert len(rows) == 400 and class_counts(rows) == [200, 200]


def test_an_empty_plane_in_the_browser(chromium, app_server, page):
    url, _, _ = app_server
    open_drawing(page, url, "?epochs=300")
    page.get_by_text("an empty plane").click()
    canvas = '.nnviz-chart[data-chart="draw_canvas"]'
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('{canvas}'); return d && d.dataset.drawing === 'on' && d._fullLayout; }}",
        timeout=30000,
    )
    page.get_by_text(f"{MIN_ROWS} more points to start training").wait_for(timeout=20000)
    # four clicks at once (as events, so that no pause can fall between them): one message later
    state = page.evaluate(
        f"""() => {{ const d = document.querySelector('{canvas}');
                     const box = d.querySelector('.draglayer .xy .nsewdrag').getBoundingClientRect();
                     for (let i = 0; i < 4; i++) {{
                       const at = {{clientX: box.left + box.width * (0.2 + 0.15 * i), clientY: box.top + box.height / 2,
                                   bubbles: true, button: 0}};
                       const target = d.querySelector('.draglayer .xy .nsewdrag');
                       target.dispatchEvent(new MouseEvent('mousedown', at));
                       target.dispatchEvent(new MouseEvent('click', at));
                     }}
                     return [d._nnvizDrawing.pending.length, Number(d.dataset.drawSent || 0)]; }}"""
    )
    assert state == [4, 0]
    page.get_by_text("16 more points to start training").wait_for(timeout=20000)
    sent = page.evaluate(f"() => Number(document.querySelector('{canvas}').dataset.drawSent)")
    assert sent == 1, "the four clicks went in one message"
    assert page.evaluate(f"() => document.querySelector('{canvas}')._fullData[0].x.length") == 4
    page.screenshot(path=str(ARTIFACTS / "browser-draw-empty.png"))
