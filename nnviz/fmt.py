"""Numbers for people: one way to print a loss, an accuracy or an epoch count in every view.

The app's tables, the HTML report and the CLI all format through here, so 23066568539766784 reads
as 2.3e+16 everywhere and a missing value is always a dash, never "None" or "nan".
"""

from __future__ import annotations

import math

DASH = "–"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def loss(x: float | None) -> str:
    """Three significant figures; powers of ten from 1000 up or below 0.001 (0.0077, 0.341, 2.3e+16)."""
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if _missing(x):
        return DASH
    if x != 0 and (abs(x) >= 1000 or abs(x) < 1e-3):
        return f"{x:.2g}"
    return f"{x:.3g}"


R2_LOWEST = -10.0  # an R² below this reads "below -10": -9e8 says no more than "far worse than the mean"


def r2(x: float | None) -> str:
    """An R² in a title: two decimals (0.93, -0.41), "below -10" under R2_LOWEST, a dash if missing."""
    if _missing(float(x) if x is not None else None):
        return DASH
    return f"{x:.2f}" if x >= R2_LOWEST else f"below {R2_LOWEST:g}"


def setting(x: float) -> str:
    """A setting's number as the sidebar shows it: 0.03, 10, 1e-05, 0."""
    return "0" if x == 0 else f"{float(x):g}"


def pct(x: float | None, digits: int = 1) -> str:
    """A share 0..1 as a percentage: 0.9667 -> "96.7%"."""
    return DASH if _missing(x) else f"{100 * x:.{digits}f}%"


def epochs_to(first: int | None, held: bool) -> str:
    """The first epoch a run reached a level, and whether it is still there: "122", "2, then fell back"."""
    if first is None:
        return DASH
    return str(first) if held else f"{first}, then fell back"


def duration(seconds: float | None) -> str:
    """A time left for people: "8 s", "2 min 10 s", "1 h 5 min"."""
    if _missing(seconds) or seconds < 0:
        return DASH
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s < 600 else f"{round(seconds / 60)} min"
    return f"{s // 3600} h {round(s % 3600 / 60)} min"
