"""The report: latency percentiles and the markdown tables printed for docs/reliability.md."""

from __future__ import annotations

import os

import numpy as np

from tools.loadtest.checks import Results


def pct(values: list[float]) -> tuple[float, float, float, float]:
    if not values:
        return (float("nan"),) * 4
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return float(p50), float(p90), float(p99), float(max(values))


def markdown(args, rep: dict, res: Results, n_tracebacks: int) -> str:
    def row(name: str, values: list[float]) -> str:
        p50, p90, p99, mx = pct(values)
        return f"| {name} | {len(values)} | {p50:.2f} | {p90:.2f} | {p99:.2f} | {mx:.2f} |"

    def mb(key: str) -> str:
        v = rep.get(key)
        return f"{v:.0f}" if isinstance(v, (int, float)) else "–"

    n_ws = args.sessions - args.browsers
    mix = f"{args.browsers} Chromium pages" + (f" + {n_ws} websocket sessions" if n_ws else "")
    lines = [
        f"{args.sessions} concurrent sessions ({mix}) for {args.seconds:.0f} s, each with new settings every "
        f"~{args.reload_every:.0f} s, on one `streamlit run serve.py` ({os.cpu_count()} cores).",
        "",
        "| latency (s) | n | p50 | p90 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("first_boundary", "alone websocket", "one session alone, before the load: connect → boundary"),
        ("intervals", "alone websocket", "one session alone: interval between live updates"),
        ("first_boundary", "load chromium", "Chromium page: navigation → boundary drawn"),
        ("first_boundary", "load websocket", "websocket session: connect → boundary received"),
        ("intervals", "load chromium", "Chromium page: interval between live updates"),
        ("intervals", "load websocket", "websocket session: interval between live updates"),
        ("update_age", "load chromium", "Chromium page: age of the epoch shown when the page was left"),
        ("update_age", "load websocket", "websocket session: age of the epoch shown when left"),
        ("first_boundary", "churn chromium", "after the load, Chromium: navigation → boundary drawn"),
        ("first_boundary", "churn websocket", "after the load, websocket: connect → boundary received"),
    ]
    for attr, key, name in rows:
        kind = key.split()[1]
        if key in getattr(res, attr) or (key.startswith("load") and res.navigations.get(kind)):
            lines.append(row(name, getattr(res, attr).get(key, [])))
    lines += [
        "",
        "| server RSS (MB) | |",
        "|---|---:|",
        f"| idle, before any session | {mb('rss_idle_mb')} |",
        f"| after the warm-up (two sessions, closed) | {mb('rss_warm_mb')} |",
        f"| peak during the load (sampled every 0.25 s) | {mb('rss_peak_load_mb')} |",
        f"| after the load (sessions closed) | {mb('rss_after_load_mb')} |",
    ]
    if "rss_after_churn_mb" in rep:
        opened = int(
            rep.get("metrics_after_churn", {}).get("connect", 0)
            - rep.get("metrics_after_load", {}).get("connect", 0)
        )
        lines.append(
            f"| after {args.churn_seconds:.0f} s more of opening and closing sessions ({opened} sessions) "
            f"| {mb('rss_after_churn_mb')} |"
        )
    if "rss_after_settle_mb" in rep:
        lines.append(
            f"| after {args.settle_seconds:.0f} s idle, then one more session | {mb('rss_after_settle_mb')} |"
        )
    lines.append(f"| kernel high-water mark (VmHWM) | {mb('rss_hwm_mb')} |")
    cpu = rep.get("cpu_load", {})

    def c(key: str) -> str:
        return f"{cpu.get(key, float('nan')):.0f}%"

    k = res.by_kind
    lines += [
        "",
        f"Checks: {sum(res.navigations.values())} page loads, {res.events_checked} states "
        f"({res.boundaries_checked} boundary charts) checked against their own URL: "
        f"{k.get('mismatch', 0)} showed another session's settings, {k.get('error', 0)} errors on a page, "
        f"{k.get('liveness', 0)} too slow (no boundary within {args.first_boundary_timeout:.0f} s or no update "
        f"for {args.stall_timeout:.0f} s); server log: "
        + (f"{n_tracebacks} tracebacks" if n_tracebacks else "no exception or traceback")
        + f". CPU during the load (100% = one core): server {c('server_pct')}, Chromium {c('browser_pct')}, "
        f"this script {c('loadtest_pct')}, other processes {c('others_pct')}; machine {c('box_pct')} busy.",
    ]
    return "\n".join(lines)
