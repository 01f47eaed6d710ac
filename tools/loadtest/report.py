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


# ---- behind the proxy (tools/loadtest/proxy.py) -------------------------------------------------------
def _q(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _pair(values: list[float], fmt: str = ".2f") -> str:
    return f"{_q(values, 50):{fmt}} / {_q(values, 90):{fmt}}" if values else "–"


def _ratio(a: float, b: float) -> str:
    return f"{b / a:.2f}x" if a and a == a and b == b else "–"


def _per_replica(run: dict) -> str:
    spr = run.get("sessions_per_replica", {})
    names = sorted({r for kind in spr.values() for r in kind})
    return ", ".join(
        f"{r}: {spr.get('websocket', {}).get(r, 0)} + {spr.get('chromium', {}).get(r, 0)}" for r in names
    )


def _cpu_replicas(run: dict) -> str:
    cpu = run.get("cpu", {}).get("replicas_pct", {})
    return ", ".join(f"{name} {pct:.0f}%" for name, pct in sorted(cpu.items())) or "–"


def _checks(run: dict, results) -> str:
    k = results.by_kind
    aff = run.get("affinity", {})
    return (
        f"{results.events_checked} states; {k.get('mismatch', 0)} mismatches, {k.get('error', 0)} errors, "
        f"{k.get('affinity', 0)} affinity, {k.get('proxy', 0)} page loads refused (HTTP 5xx), "
        f"{k.get('liveness', 0)} too slow; affinity verified on "
        f"{aff.get('verified', 0)}/{aff.get('docs', 0)} page loads"
    )


def compare_table(runs: list[dict], results: list) -> str:
    """1 replica against 2 (or any counts), side by side; the ratio column: last run / first run."""
    names = [f"{r['replicas']} replica" + ("s" if r["replicas"] > 1 else "") for r in runs]
    two = len(runs) >= 2
    first = runs[0]
    head = "| through HAProxy | " + " | ".join(names) + (f" | {names[-1]} vs {names[0]} |" if two else " |")
    lines = [
        f"{first['sessions']} concurrent sessions ({first['sessions'] - first['browsers']} websocket sessions + "
        f"{first['browsers']} Chromium pages, Chromium's scheduling {first.get('browser_sched', 'normal')}) for "
        f"{first['seconds']:.0f} s through HAProxy, each on new settings "
        f"every ~15 s or a second after its epoch budget is spent; the same settings in every run "
        f"({os.cpu_count()} cores).",
        "",
        head,
        "|---|" + "---:|" * (len(runs) + two),
    ]

    def row(name: str, cells: list[str], ratio: str = "") -> None:
        lines.append(f"| {name} | " + " | ".join(cells) + (f" | {ratio} |" if two else " |"))

    ws = [r["first_boundary"]["websocket"] for r in runs]
    iv = [r["intervals"]["websocket"] for r in runs]
    rates = [r["rates"].get("websocket", []) for r in runs]
    row("sessions per replica (websocket + Chromium)", [_per_replica(r) for r in runs])
    row(
        "websocket: first boundary p50 / p90 (s)",
        [_pair(v) for v in ws],
        f"{_ratio(_q(ws[0], 50), _q(ws[-1], 50))} / {_ratio(_q(ws[0], 90), _q(ws[-1], 90))}",
    )
    row(
        "websocket: live update interval p50 / p90 (s)",
        [_pair(v) for v in iv],
        f"{_ratio(_q(iv[0], 50), _q(iv[-1], 50))} / {_ratio(_q(iv[0], 90), _q(iv[-1], 90))}",
    )
    row(
        "websocket: updates/s per session, median (p10)",
        [f"{_q(v, 50):.2f} ({_q(v, 10):.2f})" if v else "–" for v in rates],
        _ratio(_q(rates[0], 50), _q(rates[-1], 50)),
    )
    ep = [r["rates"].get("websocket epochs", []) for r in runs]
    row(
        "websocket: epochs trained/s per session, median",
        [f"{_q(v, 50):.1f}" if v else "–" for v in ep],
        _ratio(_q(ep[0], 50), _q(ep[-1], 50)),
    )
    row("Chromium: first boundary p50 / p90 (s)", [_pair(r["first_boundary"]["chromium"]) for r in runs])
    row(
        "Chromium: epoch counter updates/s / live frames/s per page, median",
        [
            " / ".join(
                f"{_q(r['rates'].get(k, []), 50):.2f}" if r["rates"].get(k) else "–"
                for k in ("chromium", "chromium frames")
            )
            for r in runs
        ],
    )
    row("CPU per replica (% of a core)", [_cpu_replicas(r) for r in runs])

    def cpu(r: dict, key: str) -> str:
        v = r.get("cpu", {}).get(key)
        return f"{v:.0f}%" if v is not None else "–"

    row(
        "CPU: HAProxy / Chromium / this client / other processes",
        [
            " / ".join(cpu(r, k) for k in ("haproxy_pct", "browser_pct", "loadtest_pct", "others_pct"))
            for r in runs
        ],
    )
    row("machine busy (% of all cores)", [cpu(r, "box_pct") for r in runs])
    row("checks", [_checks(r, res) for r, res in zip(runs, results, strict=False)])
    row(
        "HAProxy: health-check failures / replica DOWN during the load",
        [
            ", ".join(
                f"{n} {v.get('chkfail')}/{v.get('chkdown')}"
                for n, v in sorted(r.get("haproxy_final", {}).items())
            )
            for r in runs
        ],
    )
    others = [r.get("cpu", {}).get("others_pct", 0) for r in runs]
    if max(others) > 25:
        lines += [
            "",
            "Other processes (not this test) used "
            + " / ".join(f"{v:.0f}%" for v in others)
            + " of a core during these runs: the numbers are noisy.",
        ]
    if two:
        rate_x = _q(rates[-1], 50) / _q(rates[0], 50) if rates[0] and rates[-1] else float("nan")
        lat_x = _q(ws[-1], 50) / _q(ws[0], 50) if ws[0] and ws[-1] else float("nan")
        by_rate, by_latency = rate_x >= 1.6, rate_x >= 0.95 and lat_x <= 0.6
        verdict = (
            "met on the rate"
            if by_rate
            else "met on the latency (not on the rate)"
            if by_latency
            else "NOT met"
        )
        lines += [
            "",
            f"{names[-1]} against {names[0]}: {rate_x:.2f}x the update rate per websocket session (median), "
            f"{lat_x:.2f}x the first-boundary latency (p50). Target (>= 1.6x the rate, or the same rate at "
            f"<= 0.6x the latency): {verdict}.",
        ]
    return "\n".join(lines)


def capacity_table(points: list[dict], threshold: float = 5.0) -> str:
    lines = [
        f"One replica's capacity: websocket sessions only, through HAProxy, {points[0]['seconds']:.0f} s per "
        "point, each session training all the time (new settings a second after its budget is spent).",
        "",
        "| live sessions on 1 replica | updates/s per session, median (p10) | update interval p50 / p90 (s) "
        f"| first boundary p50 / p90 (s) | replica CPU | client CPU | other processes | >= {threshold:g}/s |",
        "|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    best = None
    for p in points:
        rates = p["rates"].get("websocket", [])
        med = _q(rates, 50)
        ok = bool(rates) and med >= threshold
        if ok:
            best = p["sessions"]
        cpu = p.get("cpu", {})
        lines.append(
            f"| {p['sessions']} | {med:.2f} ({_q(rates, 10):.2f}) | {_pair(p['intervals']['websocket'])} "
            f"| {_pair(p['first_boundary']['websocket'])} | {_cpu_replicas(p)} "
            f"| {cpu.get('loadtest_pct', float('nan')):.0f}% | {max(0.0, cpu.get('others_pct', float('nan'))):.0f}% "
            f"| {'yes' if ok else 'no'} |"
        )
    lines += [
        "",
        (
            f"One replica sustains {best} live sessions at >= {threshold:g} updates/s per session (median) "
            "of the counts tried."
            if best
            else f"One replica sustained none of the counts tried at >= {threshold:g} updates/s per session."
        ),
    ]
    return "\n".join(lines)


def fault_table(run: dict, results) -> str:
    f = run.get("fault", {})

    def s(v, fmt=".2f") -> str:
        return f"{v:{fmt}}" if isinstance(v, (int, float)) else "–"

    victims = f.get("victims", {})
    ws_v = [v for v in victims.values() if v["kind"] == "websocket"]
    ch_v = [v for v in victims.values() if v["kind"] == "chromium"]
    hows = {}
    for v in ws_v:
        c = v.get("closed")
        key = f"{c['exception']} {c['code']}" if c else v.get("how", "?")
        hows[key] = hows.get(key, 0) + 1
    live_hows = {}
    for v in victims.values():
        for c in v.get("live_closes", []):
            key = f"{c.get('exception') or 'closed'} {c.get('code')}"
            live_hows[key] = live_hows.get(key, 0) + 1
    closes, rec = f.get("sockets_closed_after_kill_s", []), f.get("reconnect_s", [])
    back_on = {}
    for v in victims.values():
        if v.get("back"):
            back_on[v.get("back_on")] = back_on.get(v.get("back_on"), 0) + 1
    new = f.get("new_sessions", [])
    on_r1 = sum(1 for d in new if d.get("replica") == VICTIM_NAME and d.get("first_boundary_s") is not None)
    worst = f.get("survivor_worst_pause_s")
    cold = f.get("cpu_restart_to_new_sessions", {}).get("replicas_pct", {}).get(VICTIM_NAME)
    cold_cpu = f"{cold:.0f}%" if cold is not None else "–"
    at_kill = f.get("on_replicas_at_kill", {})
    lines = [
        f"Fault: {run['sessions']} sessions ({run['sessions'] - run['browsers']} websocket + {run['browsers']} "
        f"Chromium) on 2 replicas; {VICTIM_NAME} SIGKILLed {run['args_kill_after']:.0f} s into the load.",
        "",
        "| step | what happened | seconds |",
        "|---|---|---:|",
        "| sessions at the kill | "
        + ", ".join(f"{r}: {c['websocket']} websocket + {c['chromium']} Chromium" for r, c in at_kill.items())
        + " | |",
        f"| {VICTIM_NAME}'s websocket sessions see their socket closed (after the kill, max) | "
        + (", ".join(f"{n}x {k}" for k, n in hows.items()) or "–")
        + f"; live sockets: {', '.join(f'{n}x {k}' for k, n in live_hows.items()) or '–'} | {s(max(closes, default=None), '.3f')} |",
        f"| HAProxy marks {VICTIM_NAME} DOWN (after the kill) | {'DOWN' if f.get('down_s') is not None else 'not DOWN'} "
        f"| {s(f.get('down_s'))} |",
        f"| {VICTIM_NAME}'s sessions reload their URL through the proxy: boundary with their own settings "
        f"(kill → boundary, p50 / max) | {sum(back_on.values())}/{len(victims)} back "
        f"({len(ws_v)} websocket reconnect, {len(ch_v)} Chromium reload), on "
        + (", ".join(f"{r}: {n}" for r, n in back_on.items()) or "–")
        + f" | {s(_q(rec, 50))} / {s(max(rec, default=None))} |",
        f"| the other replica's websocket sessions: longest pause of live updates, kill → all back + 3 s "
        f"({len(f.get('survivor_longest_pause_s', {}))} sessions, worst) | "
        f"median session {s(_q(list(f.get('survivor_longest_pause_s', {}).values()), 50))} s | {s(worst)} |",
        "| the surviving replica stays UP in HAProxy (its health check under the load it took over) | "
        + (
            "DOWN: " + ", ".join(f"{name} {status} at +{t} s" for t, name, status in f["survivor_down"][:4])
            if f.get("survivor_down")
            else "UP throughout"
        )
        + " | |",
        f'| restart_replica("{VICTIM_NAME}"): healthy again | '
        f"{'healthy' if 'restart_healthy_s' in f else f.get('restart_error', '–')} | {s(f.get('restart_healthy_s'))} |",
        f"| HAProxy marks {VICTIM_NAME} UP (after restart_replica; after healthy) | "
        f"{'UP' if f.get('up_s') is not None else 'not UP'} | {s(f.get('up_s'))}; {s(f.get('up_after_healthy_s'))} |",
        f"| {len(new)} new sessions after the restart (HAProxy's leastconn): first boundary p50 on the cold "
        f"replica (its first sessions pay for its imports; {VICTIM_NAME} got {cold_cpu} of a core meanwhile) "
        f"| {on_r1}/{len(new)} on {VICTIM_NAME} with their boundary | "
        + s(_q([d["first_boundary_s"] for d in new if d.get("first_boundary_s") is not None], 50))
        + " |",
        "",
        f"Checks: {_checks(run, results)}; {results.by_kind.get('fault', 0)} fault checks failed.",
    ]
    return "\n".join(lines)


VICTIM_NAME = "r1"
