"""Sidebar widgets -> Config. Widget ranges are the config's own bounds (nnviz.config.BOUNDS)."""

from __future__ import annotations

import hashlib

import streamlit as st

from nnviz import fmt
from nnviz.activations import ACTIVATIONS
from nnviz.config import (
    ACT_PARAMS,
    BOUNDS,
    DATASET_DEFAULTS,
    INIT_NAMES,
    INITS,
    LOSS_NAMES,
    LOSSES,
    OPTIMIZER_NAMES,
    OPTIMIZERS,
    UPLOAD,
    VARY,
    VARY_TITLES,
    Config,
    field_types,
    parse_values,
    value_name,
)
from nnviz.data.features import FEATURES
from nnviz.data.generators import DATASETS
from nnviz.data.upload import UploadError, parse_csv
from nnviz.presets import load_presets
from nnviz.ui.session import session

PREFIX = "w_"  # the widgets' session-state keys: w_<config field>
PRESET_CHOICE = "preset_choice"  # the preset picker's key
LR_STEPS = tuple(  # a log scale of 1-3 steps, within the config's bounds
    x
    for x in (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    if BOUNDS["lr"].low <= x <= BOUNDS["lr"].high
)
PENALTY_STEPS = (0.0, 1e-5, 1e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)
BATCH_STEPS = (0, 1, 8, 16, 32, 64, 128, 256)
SCALAR_FIELDS = tuple(BOUNDS)


def _key(name: str) -> str:
    return PREFIX + name


def _range(name: str) -> tuple:
    """A widget's (low, high): the config's own bounds, as ints for whole-number fields."""
    rule, kind = BOUNDS[name], field_types()[name]
    return kind(rule.low), kind(rule.high)


def seed_widgets(cfg: Config, preset: str | None = None) -> None:
    """Put a config's values (and the preset it came from) into the widgets' session-state keys,
    before the widgets exist."""
    for name in SCALAR_FIELDS:
        st.session_state[_key(name)] = getattr(cfg, name)
    st.session_state[_key("activations")] = list(cfg.activations)
    st.session_state[_key("features")] = list(cfg.features)
    for name in ACT_PARAMS:
        act, param = name.split(".")
        st.session_state[_key(name)] = cfg.params_for(act)[param]
    st.session_state[_key("vary")] = cfg.vary
    _seed_values(cfg.vary, cfg.values)
    if preset is not None:
        st.session_state[PRESET_CHOICE] = preset


# The Vary control: what a row can vary, as the sidebar names it; and the choices of the settings
# whose values are picked rather than typed.
VARY_NAMES = {"": "nothing (one row)", **VARY_TITLES}


def _choices(vary: str) -> list[str] | None:
    """The values of a setting picked from a list (URL text), or None for typed numbers."""
    if field_types().get(vary) is bool:
        return ["0", "1"]
    rule = BOUNDS.get(vary)
    if rule is not None and rule.choices is not None:
        return [c for c in rule.choices if c != UPLOAD]
    return None


def _seed_values(vary: str, values: tuple[str, ...]) -> None:
    """The Values widgets' state for a varied setting's values (its defaults when none)."""
    values = values or (VARY[vary][1] if vary in VARY else ())
    st.session_state[_key("values_text")] = ", ".join(values)
    st.session_state[_key("values_pick")] = list(values) if vary and _choices(vary) else []


def _vary_changed() -> None:
    """A newly picked setting to vary opens with its default values (config.VARY)."""
    _seed_values(st.session_state[_key("vary")], ())


def _vary_box() -> None:
    ss = st.session_state
    st.selectbox(
        "Vary along rows",
        list(VARY_NAMES),
        format_func=VARY_NAMES.get,
        key=_key("vary"),
        on_change=_vary_changed,
        help="A grid: one row of boundaries per value of this setting, one column per activation. "
        "Each row overrides the setting below; every row of a seed starts from the same weights.",
    )
    vary = ss[_key("vary")]
    if not vary:
        return
    choices = _choices(vary)
    if choices:
        st.multiselect(
            "Values (rows)", choices, format_func=lambda v: value_name(vary, v), key=_key("values_pick"),
            help="2 to 4 of them, one row each.",
        )  # fmt: skip
    else:
        st.text_input("Values (rows)", key=_key("values_text"), help="2 to 4 numbers, comma-separated.")
    problem = ss.get(_key("values_problem"))
    if problem:
        st.warning(problem)


def _steps_with(steps: tuple, value) -> list:
    """A select_slider's options, including a value that came from a URL between the steps."""
    return sorted(set(steps) | {value})


def _ensure(name: str, prev: Config) -> None:
    """Streamlit forgets the state of a widget that was not drawn on a run (a conditional one):
    give it back its last value before drawing it again."""
    if _key(name) not in st.session_state:
        if "." in name:
            act, param = name.split(".")
            st.session_state[_key(name)] = prev.params_for(act)[param]
        else:
            st.session_state[_key(name)] = getattr(prev, name)


def requested_config(prev: Config) -> Config:
    """The config the sidebar's controls describe (``prev``: the last one), from their state alone:
    the page can compute with it before the controls are drawn (render_sidebar, at the end of the
    script, so that the browser gets the comparison first)."""
    for name in (*SCALAR_FIELDS, *ACT_PARAMS):
        _ensure(name, prev)
    if _key("features") not in st.session_state:
        st.session_state[_key("features")] = list(prev.features)
    if _key("vary") not in st.session_state:
        st.session_state[_key("vary")] = prev.vary
    if _key("values_text") not in st.session_state or _key("values_pick") not in st.session_state:
        _seed_values(prev.vary, prev.values)
    return config_from_widgets(prev)


def render_sidebar() -> None:
    """Draw the grouped controls (their values come from the session state, seeded earlier in the
    same run by requested_config)."""
    ss = st.session_state
    with st.sidebar:
        _preset_box()
        st.header("Data")
        options = list(DATASETS)
        options += [UPLOAD] if session().upload or ss[_key("dataset")] == UPLOAD else []
        st.selectbox(
            "Dataset",
            options,
            format_func=_dataset_name,
            key=_key("dataset"),
            on_change=_dataset_changed,
            help="Toy 2D datasets; spiral3 and blobs have 3+ classes (softmax output); plane and "
            "Gaussian bumps are regression (a real value per point, one linear output, MSE).",
        )
        generated = ss[_key("dataset")] != UPLOAD
        if generated:
            spec = DATASETS[ss[_key("dataset")]]
            st.caption(f"{spec.description} With its default settings and activations: {spec.look_for}")
            if spec.n_classes is None and spec.task != "regression":
                st.slider("Classes", *_range("n_classes"), key=_key("n_classes"))
            st.number_input("Samples", *_range("n_samples"), step=50, key=_key("n_samples"))
            st.slider(
                "Noise", *_range("noise"), step=0.01, key=_key("noise"), help="Jitter added to every point."
            )
        _upload_box(expanded=not generated)
        st.slider("Validation fraction", *_range("val_fraction"), step=0.05, key=_key("val_fraction"))
        st.number_input("Data seed", *_range("data_seed"), key=_key("data_seed"))
        st.checkbox(
            "Standardise inputs", key=_key("standardize"), help="Zero mean, unit variance (fit on train)."
        )

        st.header("Compare")
        st.multiselect(
            "Activations",
            list(ACTIVATIONS),
            format_func=lambda k: ACTIVATIONS[k].name,
            key=_key("activations"),
            help="One network per activation, all from the same data, initial weights and batches.",
        )
        for name, (_, low, high) in ACT_PARAMS.items():
            act, param = name.split(".")
            if act in ss[_key("activations")]:
                label = next(p.label for p in ACTIVATIONS[act].params if p.name == param)
                st.slider(f"{ACTIVATIONS[act].name}: {label}", low, high, step=0.01, key=_key(name))
        st.number_input("Seed", *_range("seed"), key=_key("seed"), help="Initial weights and batch order.")
        st.slider(
            "Seeds per activation",
            *_range("n_seeds"),
            key=_key("n_seeds"),
            help="Repeat every run with seeds seed, seed+1, ...",
        )
        _vary_box()

        st.header("Network")
        st.multiselect(
            "Input features",
            list(FEATURES),
            format_func=lambda k: FEATURES[k].label,
            key=_key("features"),
            help="What the network gets as its input, computed from each point (x₁, x₂) and "
            "standardised like the inputs (as TF Playground's features).",
        )
        if not ss[_key("features")]:
            st.warning("Choose at least one input feature; using the previous ones meanwhile.")
        st.slider("Hidden layers", *_range("hidden_layers"), key=_key("hidden_layers"))
        st.slider("Units per layer", *_range("width"), key=_key("width"))
        st.checkbox("Batch norm", key=_key("batch_norm"), help="BatchNorm1d before each hidden activation.")
        st.selectbox("Initialisation", INITS, format_func=INIT_NAMES.get, key=_key("init"))

        st.header("Training")
        st.selectbox("Optimiser", OPTIMIZERS, format_func=OPTIMIZER_NAMES.get, key=_key("optimizer"))
        if ss[_key("optimizer")] == "momentum":
            st.slider("Momentum", *_range("momentum"), step=0.01, key=_key("momentum"))
        st.select_slider(
            "Learning rate", _steps_with(LR_STEPS, ss[_key("lr")]), format_func=fmt.setting, key=_key("lr")
        )
        st.select_slider(
            "Batch size",
            _steps_with(BATCH_STEPS, ss[_key("batch_size")]),
            format_func=lambda b: "full" if b == 0 else str(b),
            key=_key("batch_size"),
        )
        st.number_input("Epochs", *_range("epochs"), step=50, key=_key("epochs"))
        st.select_slider(
            "L1 penalty", _steps_with(PENALTY_STEPS, ss[_key("l1")]), format_func=fmt.setting, key=_key("l1")
        )
        st.select_slider(
            "L2 penalty", _steps_with(PENALTY_STEPS, ss[_key("l2")]), format_func=fmt.setting, key=_key("l2")
        )
        regression = _is_regression(ss[_key("dataset")])
        st.selectbox(
            "Loss", LOSSES, format_func=LOSS_NAMES.get, key=_key("loss"), disabled=regression,
            help="Regression always trains on mean squared error (a linear output)." if regression else None,
        )  # fmt: skip
        if not ss[_key("activations")]:
            st.warning("Choose at least one activation; showing the previous ones meanwhile.")


def _is_regression(dataset: str) -> bool:
    """Whether the Dataset control's choice is regression data (a generated set, or the upload)."""
    if dataset == UPLOAD:
        upload = session().upload
        return upload is not None and upload[1].task == "regression"
    return dataset in DATASETS and DATASETS[dataset].task == "regression"


def _preset_box() -> None:
    presets = load_presets()
    st.selectbox(
        "Guided experiment",
        [""] + list(presets),
        format_func=lambda k: presets[k].title if k else "— choose one —",
        key=PRESET_CHOICE,
        on_change=_apply_preset,
        help="Loads the settings of a classic experiment and explains what to look for.",
    )


def _apply_preset() -> None:
    key = st.session_state.get(PRESET_CHOICE)
    if key:
        seed_widgets(load_presets()[key].config)
        session().preset = key


def _dataset_changed() -> None:
    """Each dataset opens with its own settings (noise, and where needed samples, classes, width,
    epochs; nnviz.data.generators): a setting still at the previous dataset's default follows the new
    dataset, one the user or the URL set stays."""
    ss = st.session_state
    key = ss[_key("dataset")]
    if key not in DATASETS:
        return
    before = session().config.dataset_defaults()
    after = Config(dataset=key).dataset_defaults()
    for name in DATASET_DEFAULTS:
        if ss.get(_key(name), before[name]) == before[name]:
            ss[_key(name)] = after[name]


def _dataset_name(key: str) -> str:
    return DATASETS[key].name if key in DATASETS else "Your CSV"


def _upload_box(expanded: bool) -> None:
    with st.expander("Your own data (CSV)", expanded=expanded):
        st.file_uploader(
            "Columns x1, x2, label or target value (header optional), up to 5000 rows and 5 classes",
            help="Whole-number labels (at most 20 different ones) are classes; any other numbers in the "
            "third column are a regression target.",
            type=["csv", "txt"],
            key="upload_file",
            on_change=_on_upload,
        )
        message = session().upload_message
        if message:
            level, text = message
            (st.error if level == "error" else st.success)(text)


def _on_upload() -> None:
    """Runs before the script: a valid file becomes the dataset; a bad one changes nothing."""
    ss = st.session_state
    file = ss.get("upload_file")
    if file is None:
        return
    raw = file.getvalue()
    try:
        data = parse_csv(raw)
    except UploadError as exc:
        session().upload_message = ("error", f"{file.name[:40]}: {exc} The current experiment is unchanged.")
        return
    session().upload = (hashlib.sha256(raw).hexdigest(), data)
    # held against a stale request from a training page's timers, which would put the old dataset
    # back (Session.set_widget)
    session().set_widget(_key("dataset"), UPLOAD)
    notes = " ".join(data.notes)
    if data.task == "regression":
        low, high = float(data.y.min()), float(data.y.max())
        found = f"with targets from {low:.3g} to {high:.3g} (regression)"
    else:
        found = f"in {data.n_classes} classes (classification)"
    session().upload_message = ("success", f"Loaded {len(data.y)} points {found}. {notes}")


def config_from_widgets(prev: Config) -> Config:
    """The Config the widgets describe (``prev`` fills what is not drawn); the widgets' ranges are the
    config's bounds, so this validates; if it still does not, the session says why and ``prev`` stays."""
    ss = st.session_state
    kinds = field_types()
    values = {name: kinds[name](ss.get(_key(name), getattr(prev, name))) for name in SCALAR_FIELDS}
    acts = tuple(ss[_key("activations")]) or prev.activations
    chosen_features = set(ss.get(_key("features")) or ())
    features = tuple(f for f in FEATURES if f in chosen_features) or prev.features  # the registry's order
    chosen = []
    for name, (default, _, _) in ACT_PARAMS.items():
        act, param = name.split(".")
        value = float(ss.get(_key(name), prev.params_for(act)[param]))
        if act in acts and value != default:
            chosen.append((name, value))
    grid = _grid_from_widgets(prev)
    try:
        return Config(activations=acts, act_params=tuple(sorted(chosen)), features=features, **values, **grid)
    except ValueError as exc:
        session().error = f"These settings cannot be used: {exc}"
        return prev


def _grid_from_widgets(prev: Config) -> dict:
    """``vary`` and ``values`` from the Vary control; values that do not parse keep the last grid
    (the text stays in its box, with what is wrong under it)."""
    ss = st.session_state
    vary = ss.get(_key("vary"), prev.vary) or ""
    ss[_key("values_problem")] = None
    if not vary:
        return {"vary": "", "values": ()}
    raw = ",".join(ss.get(_key("values_pick")) or []) if _choices(vary) else ss.get(_key("values_text"), "")
    try:
        values = parse_values(vary, raw)
    except ValueError as exc:
        ss[_key("values_problem")] = f"{exc}; the grid keeps its last rows."
        return {"vary": prev.vary, "values": prev.values}
    if vary == "dataset" and ss.get(_key("dataset")) == UPLOAD:
        ss[_key("values_problem")] = "An uploaded dataset cannot be compared with generated ones."
        return {"vary": "", "values": ()}
    return {"vary": vary, "values": values}
