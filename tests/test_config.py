"""Config: validation, URL round trip (property-based) and junk input."""

import math
import urllib.parse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnviz.config import ACT_PARAMS, ACTIVATION_KEYS, BOUNDS, MAX_RUNS, Config


def _field_strategy(name):
    rule = BOUNDS[name]
    default = getattr(Config(), name)
    if rule.choices:
        return st.sampled_from(rule.choices)
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(int(rule.low), int(rule.high))
    return st.floats(rule.low, rule.high, allow_nan=False)


@st.composite
def configs(draw):
    values = {name: draw(_field_strategy(name)) for name in BOUNDS}
    acts = draw(st.lists(st.sampled_from(ACTIVATION_KEYS), min_size=1, max_size=6, unique=True))
    values["n_seeds"] = min(values["n_seeds"], MAX_RUNS // len(acts))
    params = {}
    for key, (_, low, high) in ACT_PARAMS.items():
        if draw(st.booleans()):
            params[key] = draw(st.floats(low, high, allow_nan=False))
    return Config(activations=tuple(acts), act_params=tuple(sorted(params.items())), **values)


@settings(max_examples=300, deadline=None)
@given(configs())
def test_url_round_trip_is_exact(cfg):
    query = urllib.parse.urlencode(cfg.to_params())
    parsed = {k: v for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True)}
    back, notices = Config.from_params(parsed)
    assert notices == []
    assert back == cfg
    # the full form (exports) round-trips too
    assert Config.from_params(cfg.to_params(full=True)) == (cfg, [])


def test_default_config_has_an_empty_url():
    assert Config().to_params() == {}
    assert Config.from_params({}) == (Config(), [])


JUNK = [
    {"dataset": "mars"},
    {"dataset": ""},
    {"width": "wide"},
    {"width": "-3"},
    {"width": "65"},
    {"width": "8.5"},
    {"lr": "nan"},
    {"lr": "NaN"},
    {"lr": "inf"},
    {"lr": "-inf"},
    {"lr": "1e999"},
    {"lr": "0"},
    {"epochs": "1e99"},
    {"epochs": "99999999999999999999999"},
    {"n_samples": "0x10"},
    {"noise": "-0.1"},
    {"noise": "two"},
    {"hidden_layers": "7"},
    {"standardize": "maybe"},
    {"batch_norm": "2"},
    {"act": ""},
    {"act": "relu,swoosh"},
    {"act": "<script>alert(1)</script>"},
    {"act": "relu,,,"},  # tolerated: empty items are skipped
    {"p.elu.alpha": "100"},
    {"p.elu.alpha": "abc"},
    {"p.nonexistent.x": "1"},
    {"bogus": "1"},
    {"x" * 5000: "1"},
    {"optimizer": "rmsprop"},
    {"init": "zeros"},
    {"loss": "hinge"},
    {"seed": "-1"},
    {"seed": "3.5"},
    {"val_fraction": "0.9"},
    {"diag_every": "0"},
    {"width": ["8", "wide"]},  # repeated key: the last one wins, and it is bad
    {"width": ["wide", "12"]},  # repeated key: the last one wins, and it is good
    {"dataset": "😀"},
    {"n_seeds": "10", "act": ",".join(ACTIVATION_KEYS)},  # 130 runs: capped
    {"lr": "１"},  # full-width digit
    {"momentum": "  0.5  "},
]


@pytest.mark.parametrize("params", JUNK, ids=range(len(JUNK)))
def test_junk_parameters_fall_back_with_a_notice_never_raise(params):
    cfg, notices = Config.from_params(params)
    cfg.validate()  # whatever came in, what comes out is within bounds
    assert cfg.n_runs <= MAX_RUNS
    bad_expected = params not in (
        {"act": "relu,,,"},
        {"width": ["wide", "12"]},
        {"momentum": "  0.5  "},
        {"lr": "１"},
    )
    assert bool(notices) == bad_expected, notices
    for notice in notices:
        assert len(str(notice)) < 300  # a long junk key is clipped in the message


def test_repeated_key_last_wins():
    cfg, notices = Config.from_params({"width": ["wide", "12"]})
    assert cfg.width == 12 and not notices


def test_validate_rejects_out_of_bounds():
    with pytest.raises(ValueError, match="width"):
        Config(width=100).validate()
    with pytest.raises(ValueError, match="lr"):
        Config(lr=math.nan).validate()


def test_seeds_and_params_for():
    cfg = Config(seed=3, n_seeds=3, act_params=(("elu.alpha", 0.5),))
    assert cfg.seeds == (3, 4, 5)
    assert cfg.params_for("elu") == {"alpha": 0.5}
    assert cfg.params_for("leaky_relu") == {"slope": 0.01}
    assert cfg.params_for("relu") == {}
