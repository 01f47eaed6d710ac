"""Reliability and security at the UI boundary: junk URLs, bad uploads, failures, settings, no eval."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nnviz.config import Config
from tests.test_app import charts
from tests.test_config import JUNK

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def run_app(query=None, setup=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if setup:
        setup(at)
    at.run()
    return at


def _query_id(q: dict) -> str:
    return "&".join(f"{k[:12]}={str(v)[:12]}" for k, v in q.items()).encode("ascii", "replace").decode()


BAD_QUERIES = [
    q
    for q in JUNK
    if q not in ({"act": "relu,,,"}, {"width": ["wide", "12"]}, {"momentum": "  0.5  "}, {"lr": "１"})
]


@pytest.mark.parametrize("query", BAD_QUERIES, ids=[_query_id(q) for q in BAD_QUERIES])
def test_junk_url_loads_defaults_with_a_warning(query):
    assert len(BAD_QUERIES) >= 30
    at = run_app(query)
    assert not at.exception, [e.value for e in at.exception]
    assert at.warning, "a visible warning lists what was ignored"
    cfg = at.session_state["nnviz"].experiment.cfg
    cfg.validate()
    assert charts(at).get("boundary"), "the page still shows the comparison"


def test_failure_inside_training_is_shown_and_results_stay(monkeypatch):
    at = run_app({"epochs": "300"})
    before = at.session_state["nnviz"].experiment.epoch
    assert before > 0

    def broken_step(self, max_steps, until_epoch=None):  # every way of training goes through advance
        raise RuntimeError("simulated failure in a training step")

    monkeypatch.setattr("nnviz.experiment.Experiment.advance", broken_step)
    at.session_state["nnviz"].playing = True
    at.run()
    assert not at.exception
    assert any("simulated failure" in e.value for e in at.error)
    assert charts(at).get("boundary"), "the previous results are still drawn"
    assert at.session_state["nnviz"].experiment.epoch == before
    assert at.session_state["nnviz"].playing is False


def test_failure_inside_a_figure_is_shown_and_the_rest_of_the_page_stays(monkeypatch):
    def broken_figure(*args, **kwargs):
        raise ValueError("simulated figure failure")

    monkeypatch.setattr(
        "nnviz.figures.boundary.grid_boundary_figure", broken_figure
    )  # what the page draws with
    at = run_app()
    assert not at.exception
    assert any("simulated figure failure" in e.value for e in at.error)
    at.run()  # the summary table comes with the first timer tick while training live
    assert at.dataframe, "the summary table is still there"
    assert at.tabs, "the other tabs are still there"


def test_settings_that_cannot_be_built_keep_the_previous_experiment():
    at = run_app()
    first = at.session_state["nnviz"].experiment
    at.number_input(key="w_n_samples").set_value(50)
    at.selectbox(key="w_dataset").set_value("blobs").run()
    at.slider(key="w_n_classes").set_value(5).run()
    at.slider(key="w_val_fraction").set_value(0.05).run()  # 2-3 validation points for 5 classes
    assert not at.exception
    exp = at.session_state["nnviz"].experiment
    if at.error:  # could not split: the previous experiment stays and the message says why
        assert "cannot be used" in at.error[0].value
        assert exp.cfg != first.cfg or exp is first
    assert charts(at).get("boundary")


BAD_UPLOADS = {
    "empty": b"",
    "header only": b"x1,x2,label\n",
    "non-numeric": b"x1,x2,label\n" + b"a,b,0\n" * 30,
    "nan": b"x1,x2,label\n" + b"nan,1,0\n1,2,1\n" * 15,
    "single class": b"x1,x2,label\n" + b"1,2,0\n" * 30,
    "too many classes": b"x1,x2,label\n" + b"".join(f"{i},{i},{i % 9}\n".encode() for i in range(90)),
    "too many rows": b"x1,x2,label\n" + b"".join(f"{i},{i},{i % 2}\n".encode() for i in range(6000)),
    "over the size cap": b"1,2,0\n" * 200_000,
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
    "wrong columns": b"x1,x2,label\n" + b"1,2,0,9\n" * 30,
    "non-utf8": b"x1,x2,label\n" + "1,2,caf\xe9\n".encode("latin-1") * 30,
}


@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_bad_upload_gives_a_clear_message_and_leaves_the_experiment(kind):
    from nnviz.data.upload import UploadError, parse_csv

    with pytest.raises(UploadError) as info:
        parse_csv(BAD_UPLOADS[kind])
    message = str(info.value)
    assert 10 < len(message) < 250 and "Traceback" not in message
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", message)


def test_uploaded_data_becomes_the_dataset_in_the_app():
    from nnviz.data.upload import parse_csv
    from nnviz.ui import sidebar

    rows = b"x1,x2,label\n" + b"".join(
        f"{i % 7},{(i * 3) % 5},{'red' if i % 2 else 'blue'}\n".encode() for i in range(60)
    )

    # what the uploader's callback does with a valid file: keep it, then select it as the dataset
    at = run_app()
    at.session_state["nnviz"].upload = ("token", parse_csv(rows))
    at.run()  # the dataset picker now offers the upload
    at.session_state["w_dataset"] = "upload"
    at.run()
    assert not at.exception
    exp = at.session_state["nnviz"].experiment
    assert exp.cfg.dataset == "upload" and len(exp.split.y_train) + len(exp.split.y_val) == 60
    assert sidebar  # imported for its keys


def test_streamlit_security_settings():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["enableXsrfProtection"] is True
    assert 0 < cfg["server"]["maxUploadSize"] <= 5


SOURCES = [p for p in [ROOT / "app.py", ROOT / "serve.py", *sorted((ROOT / "nnviz").rglob("*.py"))]]


def test_no_eval_or_exec_and_no_user_html():
    """st.html only for the constant stylesheet, the drawing's class swatches (CSS from the class
    palette and class numbers alone) and the boundary chart's first-paint picture, whose every piece
    is escaped (the next test)."""
    calls = []
    for path in SOURCES:
        text = path.read_text()
        assert not re.search(r"(?<![\w.])(eval|exec)\s*\(", text), f"eval/exec in {path}"
        assert "unsafe_allow_html" not in text, f"unsafe_allow_html in {path}"
        calls += [(path.name, call.strip()[:40]) for call in re.findall(r"st\.html\(([^)]*)\)", text)]
    assert [name for name, _ in calls] == ["app.py", "charts.py", "draw.py"], calls
    assert calls[0][1] == "PAGE_CSS" and "nnviz-first-paint" in calls[1][1], calls
    assert calls[2][1].startswith("_swatch_css(d.n_classes"), calls
    from nnviz.ui.draw import _swatch_css

    css = _swatch_css(5)  # an int in, the palette's colours out: no text from anyone
    assert css.startswith("<style>") and css.count("<") == 2 and "script" not in css


def test_the_first_paint_picture_escapes_what_it_shows(monkeypatch):
    from nnviz.figures.boundary import boundary_figure
    from nnviz.ui import charts

    shown = []
    monkeypatch.setattr(charts.st, "html", shown.append)
    probs = np.full((1, 3, 3, 2), 0.5)
    fig = boundary_figure(
        [0, 1, 2], [0, 1, 2], probs, titles=["x"], X_train=np.zeros((1, 2)), y_train=np.zeros(1, int),
        X_val=np.zeros((1, 2)), y_val=np.zeros(1, int), pred_train=None, pred_val=None, n_classes=2,
    )  # fmt: skip
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    charts.first_paint(
        fig, key=evil, sources=['data:image/png;base64,AA"><script>'], titles=[evil], colors=[evil]
    )
    body = shown[0]
    assert "<script" not in body and "<img src=x" not in body  # all escaped
    assert body.count("<img ") == 1 and body.count("<div") == 3  # the picture, a cell, a title


def test_core_never_imports_streamlit_or_plotly():
    outside = ("figures", "ui", "cli.py", "__main__.py")  # the figures layer, the UI, the entry points
    core = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "nnviz").rglob("*.py")
        if p.relative_to(ROOT / "nnviz").parts[0] not in outside
    )
    code = (
        "import sys, importlib\n"
        f"for m in {core!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in ('streamlit', 'plotly') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_config_bounds_cap_what_a_url_can_ask():
    cfg, notices = Config.from_params(
        {"epochs": "999999", "width": "100000", "hidden_layers": "50", "n_samples": "10000000"}
    )
    assert cfg == Config() and len(notices) == 4
