"""Tests for nnviz.data.upload: parsing and validating a user's CSV upload."""

import io
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnviz import config
from nnviz.data.upload import MAX_BYTES, MAX_ROWS, UploadedData, UploadError, parse_csv


def make_rows(n_per_class=10, labels=("0", "1")):
    """Rows (x1, x2, label) as strings: n_per_class points for each label."""
    rng = np.random.default_rng(0)
    return [(f"{a:.4f}", f"{b:.4f}", lab) for lab in labels for a, b in rng.normal(size=(n_per_class, 2))]


def make_csv(rows=None, *, header="x1,x2,label", sep=",", eol="\n", bom=False):
    """Encode rows as CSV bytes."""
    rows = make_rows() if rows is None else rows
    lines = ([header.replace(",", sep)] if header else []) + [sep.join(r) for r in rows]
    return (b"\xef\xbb\xbf" if bom else b"") + (eol.join(lines) + eol).encode()


def check_valid(result, n=20, n_classes=2):
    assert isinstance(result, UploadedData)
    assert result.X.shape == (n, 2) and result.X.dtype == np.float32
    assert result.y.shape == (n,) and result.y.dtype == np.int64
    assert result.n_classes == n_classes == len(result.class_names)
    assert set(result.y.tolist()) == set(range(n_classes))


# ----------------------------------------------------------------------------- valid files


def test_caps_match_config():
    assert MAX_ROWS == config.MAX_SAMPLES
    assert MAX_BYTES == 1_000_000


def test_with_header():
    result = parse_csv(make_csv())
    check_valid(result)
    assert result.class_names == ("0", "1")
    assert any("header" in note for note in result.notes)


def test_without_header():
    result = parse_csv(make_csv(header=None))
    check_valid(result)
    assert not any("header" in note for note in result.notes)


def test_other_header_names():
    check_valid(parse_csv(make_csv(header="a , b , class")))


def test_string_labels_sorted_and_remapped():
    rows = make_rows(labels=("red", "blue"))
    result = parse_csv(make_csv(rows))
    check_valid(result)
    assert result.class_names == ("blue", "red")
    assert result.y.tolist() == [1] * 10 + [0] * 10
    assert any("became classes" in note for note in result.notes)


def test_numeric_labels_remapped_by_value():
    rows = make_rows(labels=("10", "7.0", "9"))
    result = parse_csv(make_csv(rows))
    check_valid(result, n=30, n_classes=3)
    assert result.class_names == ("7.0", "9", "10")
    assert result.y.tolist() == [2] * 10 + [0] * 10 + [1] * 10


def test_whole_float_labels():
    result = parse_csv(make_csv(make_rows(labels=("0.0", "1.0"))))
    check_valid(result)
    assert result.class_names == ("0.0", "1.0")
    assert not any("became classes" in note for note in result.notes)


def test_semicolons():
    result = parse_csv(make_csv(sep=";"))
    check_valid(result)
    assert any("semicolons" in note for note in result.notes)


def test_tabs():
    check_valid(parse_csv(make_csv(sep="\t")))


def test_bom():
    check_valid(parse_csv(make_csv(bom=True)))
    check_valid(parse_csv(make_csv(header=None, bom=True)))


def test_crlf():
    assert parse_csv(make_csv(eol="\r\n")).X.tolist() == parse_csv(make_csv()).X.tolist()


def test_whitespace_blank_lines_quotes_and_no_trailing_newline():
    rows = [(f"  {a} ", f'"{b}"', f' "{c}" ') for a, b, c in make_rows()]
    data = b"\n\n" + make_csv(rows).replace(b"\n", b"\n  \n").rstrip(b"\n")
    check_valid(parse_csv(data))


def test_script_tag_label_kept_verbatim():
    tag = "<script>alert(1)</script>"
    result = parse_csv(make_csv(make_rows(labels=(tag, "ok"))))
    check_valid(result)
    assert tag in result.class_names


def test_round_trip():
    rng = np.random.default_rng(1)
    X = rng.normal(scale=100, size=(300, 2))
    y = rng.integers(0, 3, size=300)
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([X, y]), delimiter=",", header="x1,x2,label", comments="", fmt="%.17g")
    result = parse_csv(buf.getvalue().encode())
    np.testing.assert_allclose(result.X, X.astype(np.float32), rtol=1e-6)
    assert result.y.tolist() == y.tolist()


# ----------------------------------------------------------------------------- rejected files


def rejects(data, phrase, **kwargs):
    with pytest.raises(UploadError) as info:
        parse_csv(data, **kwargs)
    message = str(info.value)
    assert phrase.lower() in message.lower(), message
    assert message.isprintable() and len(message) < 250, message
    return message


def test_rejects_empty():
    rejects(b"", "empty")
    rejects(b"\xef\xbb\xbf \n\r\n  \n", "empty")


def test_rejects_header_only():
    rejects(b"x1,x2,label\n", "no data rows")


def test_rejects_non_numeric():
    rows = make_rows()
    rows[4] = ("1.0", "abc", "0")
    assert "Row 6, column B (x2)" in rejects(make_csv(rows), "not a number")


def test_rejects_decimal_comma_with_hint():
    rows = make_rows()
    rows[0] = ("1,5", "2", "0")
    rejects(make_csv(rows, sep=";"), "decimal separator")


def test_rejects_empty_cell():
    rows = make_rows()
    rows[3] = ("", "2", "0")
    assert "Row 5, column A (x1)" in rejects(make_csv(rows), "empty")


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity"])
def test_rejects_nan_and_inf(bad):
    rows = make_rows()
    rows[0] = ("1", bad, "0")
    assert "Row 2" in rejects(make_csv(rows), "not a real number")


@pytest.mark.parametrize("bad", ["1e7", "-2000000", "1e400"])
def test_rejects_huge_coordinates(bad):
    rows = make_rows()
    rows[2] = (bad, "0", "1")
    rejects(make_csv(rows), "too large")


def test_rejects_wrong_column_count():
    rows = make_rows()
    rows[7] = ("1", "2", "0", "extra")
    assert "Row 9 has 4 columns" in rejects(make_csv(rows), "exactly 3")
    assert "Row 1 has 1 column" in rejects(b"x1 x2 label\n1 2 0\n", "exactly 3")


def test_rejects_single_class():
    rejects(make_csv(make_rows(n_per_class=20, labels=("a",))), "at least 2 different labels")


def test_rejects_too_many_classes():
    rejects(make_csv(make_rows(n_per_class=4, labels=tuple("abcdef"))), "at most 5 classes")


def test_rejects_class_with_one_point():
    rows = make_rows() + [("0", "0", "lonely")]
    rejects(make_csv(rows), "only 1 point")


def test_rejects_too_few_rows():
    rejects(make_csv(make_rows(n_per_class=5)), "at least 20")


def test_rejects_too_many_rows():
    rejects(make_csv(make_rows(n_per_class=30)), "limit is 50", max_rows=50)
    rejects(make_csv(make_rows(n_per_class=2501)), "limit is 5,000")


def test_rejects_over_size_cap():
    rejects(make_csv(), "limit", max_bytes=100)
    rejects(b"0" * (MAX_BYTES + 1), "over the 1 MB limit")


def test_rejects_binary_garbage():
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(200) + b"\x00\x00"
    rejects(png, "binary")
    rejects(b"\x89PNG\r\n\x1a\n\xff\xfe\xfd", "binary")  # undecodable, no NULs
    rejects("x1,x2,label\n".encode("utf-16"), "UTF-16")


def test_rejects_latin1():
    data = make_csv(make_rows(labels=("bleu", "vert")), header="x1,x2,catégorie").decode().encode("latin-1")
    message = rejects(data, "UTF-8")
    assert "row 1" in message


def test_rejects_long_label():
    rows = make_rows(labels=("a" * 31, "b"))
    message = rejects(make_csv(rows), "at most 30")
    assert "a" * 21 not in message


def test_rejects_control_characters():
    rejects(make_csv(make_rows(labels=("re\x07d", "b"))), "control character")
    rejects(make_csv(make_rows(labels=("re\u202ed", "b"))), "invisible")


def test_fractional_labels_are_read_as_a_regression_target():
    # (a third column that is not whole numbers was an error before regression; tests/test_regression.py)
    data = parse_csv(make_csv(make_rows(labels=("0", "0.5"))))
    assert data.task == "regression" and data.y.dtype == np.float32
    assert any("regression target" in note for note in data.notes)


def test_messages_quote_little_user_content():
    rows = make_rows()
    rows[1] = ("x" * 500, "1", "0")
    message = rejects(make_csv(rows), "not a number")
    assert "x" * 21 not in message


# ----------------------------------------------------------------------------- property tests


def parse_or_upload_error(data):
    try:
        result = parse_csv(data)
    except UploadError as err:
        assert str(err).isprintable() and len(str(err)) < 250
        return
    check_valid(result, n=len(result.y), n_classes=result.n_classes)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_only_raise_upload_error(data):
    parse_or_upload_error(data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='0123456789.,;\t\n\r -+eEaxnif"\u00e9\x07', max_size=400))
def test_csv_like_text_only_raises_upload_error(text):
    parse_or_upload_error(text.encode())


cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-3, 3).map(str),
    st.sampled_from(["", "red", "blue", "x1", "1.0", " 2 ", '"3"', "1,5"]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cell, min_size=2, max_size=4), min_size=15, max_size=40))
def test_csv_like_rows_only_raise_upload_error(rows):
    parse_or_upload_error(("\n".join(",".join(r) for r in rows)).encode())


def test_windows_1252_text_is_not_called_binary():
    data = make_csv(make_rows(labels=("\u201cA\u201d", "\u20acB"))).decode().encode("cp1252")
    assert "row 2" in rejects(data, "not UTF-8 text")


def test_control_character_row_counts_cr_only_line_endings():
    rows = make_rows()
    rows[2] = ("1", "2\x0c", "0")
    assert "Row 4" in rejects(make_csv(rows, eol="\r"), "control character")


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.integers(0, 4)), min_size=20, max_size=60
    ),
    st.sampled_from([",", ";", "\t"]),
)
def test_valid_files_round_trip(points, sep):
    labels = [lab for *_, lab in points]
    if len(set(labels)) < 2 or min(labels.count(lab) for lab in labels) < 2:
        return
    data = "\n".join(sep.join((repr(a), repr(b), str(lab))) for a, b, lab in points).encode()
    result = parse_csv(data)
    np.testing.assert_array_equal(result.X, np.array([p[:2] for p in points], dtype=np.float32))
    classes = sorted(set(labels))
    assert result.y.tolist() == [classes.index(lab) for lab in labels]
    assert result.class_names == tuple(map(str, classes))
