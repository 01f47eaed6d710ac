"""Read an uploaded CSV file (columns x1, x2, label) into arrays, or say in plain words why not.

A numeric third column that is not class labels is a regression target: values that are not all
whole numbers, or whole numbers with more than MAX_LABEL_VALUES distinct values. Then ``task`` is
"regression", ``y`` is float32 and the notes say so; whole-number labels stay classification (and
more than MAX_CLASSES of them are refused as too many classes: 0-8 is a mistake more often than a
target).

The file is untrusted. It is size-checked before decoding and must be UTF-8 text. Every error
message quotes at most ~20 characters of it, with unprintable characters replaced by ``?``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

MAX_BYTES = 1_000_000  # the server's upload cap is 2 MB; ours is stricter
MAX_ROWS = 5000  # same as nnviz.config.MAX_SAMPLES
MIN_ROWS = 20
MAX_CLASSES = 5
MIN_PER_CLASS = 2  # a stratified split needs 2 per class
MAX_LABEL_LEN = 30
MAX_ABS_COORD = 1e6

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NONFINITE = ("nan", "inf", "infinity")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # C0 controls: never in a text file
_HIDDEN = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}  # unicode categories not allowed in a label
_DELIMITERS = {";": "semicolons", "\t": "tabs", ",": "commas"}  # preferred first when several fit
_COLUMNS = ("A (x1)", "B (x2)", "C (label)")


@dataclass(frozen=True)
class UploadedData:
    """A validated upload.

    Attributes
    ----------
    X : ndarray of shape (N, 2), dtype float32
    y : ndarray of shape (N,), dtype int64
        Labels ``0 .. n_classes - 1``, in sorted order of the original labels (numeric labels
        sort by value, text labels alphabetically).
    class_names : tuple of str
        The original label spelling of each class, verbatim (the UI must escape them).
    n_classes : int
        1 for regression (one output).
    notes : tuple of str
        Non-fatal remarks for the user, e.g. that a header row was skipped, or that the third
        column was read as a regression target.
    task : {"classification", "regression"}
        Regression: ``y`` is float32 (the targets) and ``class_names`` is empty.
    """

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    n_classes: int
    notes: tuple[str, ...]
    task: str = "classification"


class UploadError(ValueError):
    """An unusable upload; the message is written for the student who uploaded the file."""


def _show(text: str, limit: int = 20) -> str:
    """Quote user text for a message: at most `limit` characters, unprintable ones as ``?``."""
    clean = "".join(c if c.isprintable() else "?" for c in text[: limit + 1])
    return f"'{clean[:limit]}…'" if len(clean) > limit else f"'{clean}'"


def _decode(data: bytes, max_bytes: int) -> str:
    """Check the size, then decode UTF-8 (BOM optional) and reject binary or empty files."""
    if len(data) > max_bytes:
        limit = f"{max_bytes / 1e6:.3g} MB" if max_bytes >= 100_000 else f"{max_bytes:,}-byte"
        raise UploadError(f"The file is {len(data):,} bytes, over the {limit} limit.")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise UploadError("The file is saved as UTF-16 text. Save it again as 'CSV UTF-8' and upload that.")
    if b"\x00" in data:
        raise UploadError("This looks like a binary file (an image or a spreadsheet?), not a CSV text file.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if _BINARY.search(data, 0, 4096):
            raise UploadError("This looks like a binary file, not a CSV text file.") from None
        row = data.count(b"\n", 0, err.start) + 1
        raise UploadError(
            f"The file is not UTF-8 text (the first bad character is on row {row}). "
            "Save it as 'CSV UTF-8' and upload it again."
        ) from None
    if not text.strip():
        raise UploadError("The file is empty.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bad = _CONTROL.search(text)
    if bad:
        row = text.count("\n", 0, bad.start()) + 1
        raise UploadError(f"Row {row} contains an invisible control character. Upload a plain CSV text file.")
    return text


def _pick_delimiter(lines: list[str]) -> str:
    """The delimiter that splits every line into exactly 3 cells, else the most widely used one."""
    for delim in _DELIMITERS:
        if all(line.count(delim) == 2 for line in lines):
            return delim
    return max(_DELIMITERS, key=lambda d: (sum(d in line for line in lines), d == ","))


def _cells(line: str, delim: str, row: int) -> list[str]:
    """Split a line into 3 stripped cells (surrounding double quotes removed)."""
    cells = [c.strip() for c in line.split(delim)]
    cells = [c[1:-1].strip() if len(c) >= 2 and c[0] == c[-1] == '"' else c for c in cells]
    if len(cells) != 3:
        noun = "column" if len(cells) == 1 else "columns"
        raise UploadError(
            f"Row {row} has {len(cells)} {noun}, but every row needs exactly 3 (x1, x2, label) "
            f"separated by {_DELIMITERS[delim]}."
        )
    return cells


def _looks_numeric(cell: str) -> bool:
    """True for a plain decimal number, NaN or infinity."""
    return bool(_NUMBER.fullmatch(cell)) or cell.lower().lstrip("+-") in _NONFINITE


def _coord(cell: str, row: int, col: int) -> float:
    """Parse one coordinate, naming the row and column when it is unusable."""
    where = f"Row {row}, column {_COLUMNS[col]}"
    if not cell:
        raise UploadError(f"{where} is empty. Every row needs x1, x2 and a label.")
    if _NUMBER.fullmatch(cell):
        value = float(cell)
        if abs(value) <= MAX_ABS_COORD:
            return value
        raise UploadError(
            f"{where}: {_show(cell)} is too large. Coordinates must be between -1,000,000 and "
            "1,000,000; rescale your data."
        )
    if cell.lower().lstrip("+-") in _NONFINITE:
        raise UploadError(f"{where} is {_show(cell)}, not a real number. Remove or fix that row.")
    hint = " Use a dot as the decimal separator." if "," in cell else ""
    raise UploadError(f"{where}: {_show(cell)} is not a number.{hint}")


def _label(cell: str, row: int) -> str:
    """Check one label cell: present, short, printable, not a missing-value marker."""
    where = f"Row {row}, column C (label)"
    if not cell or cell.lower() == "nan":
        raise UploadError(f"{where}: the label is missing. Every row needs a label.")
    if len(cell) > MAX_LABEL_LEN:
        raise UploadError(f"{where}: the label is {len(cell)} characters long; at most {MAX_LABEL_LEN}.")
    if any(unicodedata.category(c) in _HIDDEN and c != "\u200d" for c in cell):
        raise UploadError(f"{where}: the label contains an invisible or control character.")
    return cell


def _read_rows(lines: list[tuple[int, str]], delim: str, max_rows: int) -> tuple[list, list[str]]:
    """Check the row count, then parse every data row into (x1, x2) and a label."""
    if len(lines) > max_rows:
        raise UploadError(f"The file has {len(lines):,} data rows; the limit is {max_rows:,}.")
    if len(lines) < MIN_ROWS:
        raise UploadError(f"The file has only {len(lines)} data rows; at least {MIN_ROWS} are needed.")
    coords, labels = [], []
    for row, line in lines:
        cells = _cells(line, delim, row)
        coords.append((_coord(cells[0], row, 0), _coord(cells[1], row, 1)))
        labels.append(_label(cells[2], row))
    return coords, labels


def _encode(labels: list[str], rows: list[int]) -> tuple[np.ndarray, list[str], list]:
    """Map labels to 0..C-1 in sorted order; all-numeric labels must be whole and sort by value."""
    keys: list = labels
    if all(_NUMBER.fullmatch(s) for s in labels):
        for s, row in zip(labels, rows, strict=True):
            if not float(s).is_integer():
                raise UploadError(
                    f"Row {row}, column C (label): {_show(s)} is not a whole number. "
                    "Labels must be whole numbers (0, 1, 2) or names (red, blue)."
                )
        keys = [int(float(s)) for s in labels]
    spelling: dict = {}
    for key, s in zip(keys, labels, strict=True):
        spelling.setdefault(key, s)
    order = sorted(spelling)
    index = {key: i for i, key in enumerate(order)}
    y = np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))
    return y, [spelling[k] for k in order], order


def _check_classes(y: np.ndarray, names: list[str]) -> None:
    """Require 2..MAX_CLASSES classes with at least MIN_PER_CLASS points each."""
    if len(names) < 2:
        raise UploadError(
            f"Every row has the same label ({_show(names[0])}). "
            "A classification dataset needs at least 2 different labels."
        )
    if len(names) > MAX_CLASSES:
        raise UploadError(
            f"The file has {len(names)} different labels; at most {MAX_CLASSES} classes are supported. "
            "Is the label in the third column?"
        )
    counts = np.bincount(y, minlength=len(names))
    for name, count in zip(names, counts, strict=True):
        if count < MIN_PER_CLASS:
            raise UploadError(
                f"Class {_show(name)} has only {count} point; every class needs at least {MIN_PER_CLASS}."
            )


def parse_csv(data: bytes, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS) -> UploadedData:
    """Parse and validate an uploaded CSV file of 2-D points with class labels.

    Parameters
    ----------
    data : bytes
        The raw file: UTF-8 (BOM optional), columns x1, x2, label, separated by commas (or
        consistently by semicolons or tabs); an optional header row; blank lines are ignored.
    max_bytes : int, default=MAX_BYTES
        Size cap, checked before decoding.
    max_rows : int, default=MAX_ROWS
        Largest number of data rows accepted.

    Returns
    -------
    UploadedData

    Raises
    ------
    UploadError
        If the file is unusable; the message names the problem (and the row/column) in one or
        two plain sentences, quoting at most ~20 characters of the file.
    """
    text = _decode(bytes(data), max_bytes)
    lines = [(n, s) for n, s in enumerate(text.split("\n"), 1) if s.strip()]  # n: spreadsheet row
    delim = _pick_delimiter([s for _, s in lines])
    notes = [] if delim == "," else [f"Columns are separated by {_DELIMITERS[delim]}."]
    first = _cells(lines[0][1], delim, lines[0][0])
    if not any(map(_looks_numeric, first[:2])):
        notes.append(f"Row {lines[0][0]} was read as a header and skipped.")
        lines = lines[1:]
        if not lines:
            raise UploadError("The file has a header row but no data rows.")
    coords, labels = _read_rows(lines, delim, max_rows)
    X = np.asarray(coords, dtype=np.float64).astype(np.float32)
    if _is_regression(labels):
        y = np.asarray([_target(s, row) for s, (row, _) in zip(labels, lines, strict=True)], dtype=np.float32)
        notes.append(
            f"Column C holds numbers that are not class labels ({len(set(y.tolist()))} different values), "
            "so it was read as a regression target."
        )
        return UploadedData(X, y, (), 1, tuple(notes), task="regression")
    y, names, keys = _encode(labels, [row for row, _ in lines])
    _check_classes(y, names)
    if keys != list(range(len(names))):
        shown = ", ".join(_show(n, 12) for n in names)
        notes.append(f"Labels {shown} became classes {', '.join(map(str, range(len(names))))}.")
    return UploadedData(X, y, tuple(names), len(names), tuple(notes))


MAX_LABEL_VALUES = 20  # distinct whole numbers up to this are class labels, more a regression target


def _is_regression(labels: list[str]) -> bool:
    """A third column of numbers (NaN or infinity among them too) that are not whole, or more than
    MAX_LABEL_VALUES distinct whole numbers: a regression target, not class labels."""
    if not all(_looks_numeric(s) for s in labels):
        return False
    values = {s.lower().lstrip("+-") for s in labels} & set(_NONFINITE)
    if values:
        return True  # _target says which row is not a real number
    numbers = [float(s) for s in labels]
    return not all(v.is_integer() for v in numbers) or len(set(numbers)) > MAX_LABEL_VALUES


def _target(cell: str, row: int) -> float:
    """One regression target; a NaN or infinity names its row."""
    if not _NUMBER.fullmatch(cell):
        raise UploadError(
            f"Row {row}, column C (target) is {_show(cell)}, not a real number. Remove or fix that row."
        )
    value = float(cell)
    if abs(value) > MAX_ABS_COORD:
        raise UploadError(f"Row {row}, column C (target): {_show(cell)} is too large; rescale your data.")
    return value
