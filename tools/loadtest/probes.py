"""What the server costs: its RSS (/proc/<pid>/status), CPU of the server, of Chromium and of the
machine (/proc/<pid>/stat, /proc/stat), and Streamlit's own counters (/_stcore/metrics)."""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.request


def proc_status(pid: int, key: str) -> int | None:
    """A field of /proc/<pid>/status (kB for the Vm* ones)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb(pid: int) -> float:
    kb = proc_status(pid, "VmRSS")
    return kb / 1024 if kb is not None else float("nan")


def _procs() -> dict[int, tuple[int, int, float]]:
    """pid -> (ppid, CPU ticks, RSS MB) of every process."""
    out, page_mb = {}, os.sysconf("SC_PAGESIZE") / 2**20
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rindex(")") + 2 :].split()
        out[int(name)] = (int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[21]) * page_mb)
    return out


def _descendants(procs: dict[int, tuple[int, int, float]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """Cumulative CPU seconds of the server, of our other children (Playwright + Chromium), of
    this process and of the whole machine (all cores); the browser processes' RSS."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = _procs()
    server = {server_pid} | _descendants(procs, server_pid)
    browser = _descendants(procs, os.getpid()) - server
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return {
        "t": time.monotonic(),
        "server": sum(procs[p][1] for p in server if p in procs) / tick,
        "browser": sum(procs[p][1] for p in browser if p in procs) / tick,
        "browser_rss_mb": sum(procs[p][2] for p in browser if p in procs),
        "box_busy": (sum(fields[:8]) - fields[3] - fields[4]) / tick,
        "self": sum(os.times()[:2]),
    }


def cpu_usage(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """Percent of one core used between two snapshots (box_pct: of all the machine's cores)."""
    dt = b["t"] - a["t"]
    d = {k: b[k] - a[k] for k in ("server", "browser", "self", "box_busy")}
    return {
        "server_pct": 100 * d["server"] / dt,
        "browser_pct": 100 * d["browser"] / dt,
        "loadtest_pct": 100 * d["self"] / dt,
        "others_pct": 100 * (d["box_busy"] - d["server"] - d["browser"] - d["self"]) / dt,
        "box_pct": 100 * d["box_busy"] / dt / (os.cpu_count() or 1),
    }


def server_metrics(url: str) -> dict[str, float]:
    """Streamlit's own counters (/_stcore/metrics): active sessions and session events."""
    out: dict[str, float] = {}
    try:
        with urllib.request.urlopen(url + "/_stcore/metrics", timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r'^(active_sessions|session_events_total\{type="(\w+)"\})\s+([\d.e+]+)', line)
        if m:
            out[m.group(2) or m.group(1)] = float(m.group(3))
    return out


class RssSampler:
    """Samples the server's VmRSS and thread count every ``interval`` s, tagged by phase."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.pid, self.interval, self.phase = pid, interval, "start"
        self.samples: list[tuple[float, str, float, int]] = []
        self._t0 = time.monotonic()

    def sample(self) -> float:
        rss = rss_mb(self.pid)
        self.samples.append(
            (round(time.monotonic() - self._t0, 2), self.phase, rss, proc_status(self.pid, "Threads") or -1)
        )
        return rss

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def peak(self, phase: str, column: int = 2) -> float:
        values = [s[column] for s in self.samples if s[1] == phase]
        return max(values) if values else float("nan")


def topology_cpu_snapshot(replica_pids: dict[str, int | None], haproxy_pid: int | None) -> dict:
    """Cumulative CPU seconds behind the proxy: each replica (name -> (pid, seconds); a replica
    started again is a new pid), HAProxy, our other children (Playwright + Chromium), this process
    (the load-generating client) and the whole machine."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = _procs()

    def tree(pid: int | None) -> set[int]:
        return set() if pid is None else {pid} | _descendants(procs, pid)

    def cpu(pids: set[int]) -> float:
        return sum(procs[p][1] for p in pids if p in procs) / tick

    servers = {name: tree(pid) for name, pid in replica_pids.items()}
    proxy = tree(haproxy_pid)
    browser = _descendants(procs, os.getpid()) - proxy - set().union(*servers.values())
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return {
        "t": time.monotonic(),
        "replicas": {name: (replica_pids[name], cpu(pids)) for name, pids in servers.items()},
        "haproxy": cpu(proxy),
        "browser": cpu(browser),
        "box_busy": (sum(fields[:8]) - fields[3] - fields[4]) / tick,
        "self": sum(os.times()[:2]),
    }


def topology_cpu_usage(a: dict, b: dict) -> dict:
    """Percent of one core used between two topology snapshots, per replica and per part."""
    dt = b["t"] - a["t"]
    replicas = {}
    for name, (pid, seconds) in b["replicas"].items():
        pid0, seconds0 = a["replicas"].get(name, (None, 0.0))
        replicas[name] = 100 * (seconds - (seconds0 if pid0 == pid else 0.0)) / dt
    d = {k: b[k] - a[k] for k in ("haproxy", "browser", "self", "box_busy")}
    servers = sum(replicas.values()) * dt / 100
    return {
        "replicas_pct": replicas,
        "haproxy_pct": 100 * d["haproxy"] / dt,
        "browser_pct": 100 * d["browser"] / dt,
        "loadtest_pct": 100 * d["self"] / dt,
        "others_pct": 100 * (d["box_busy"] - servers - d["haproxy"] - d["browser"] - d["self"]) / dt,
        "box_pct": 100 * d["box_busy"] / dt / (os.cpu_count() or 1),
    }
