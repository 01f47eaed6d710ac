"""``make serve REPLICAS=N``: N ``streamlit run serve.py`` replicas on internal ports and HAProxy in
front on the public port, with cookie-based session affinity.

    python -m deploy.serve                    # one replica per core, on http://localhost:8501
    python -m deploy.serve --replicas 2 --port 8501

Why a proxy with sticky sessions: a Streamlit session lives in the memory of the process that
created it, and one process uses at most about one core (Python's interpreter lock). HAProxy sets a
cookie naming the replica on the first response (the page), so the page's later requests (Streamlit's
websocket, uploads, media and downloads, nnviz's live route) all reach the replica holding the
session; a new browser goes to the replica with the fewest connections. Replicas are health-checked
on ``/_stcore/health``; a dead one is marked down within ~3 s and its sessions are sent to a healthy
one on their next request (``option redispatch``), where they start again from their URL. All
replicas share one cookie secret, so Streamlit's XSRF cookie stays valid across them.

``Topology`` is what the tests and the load test start; ``main`` adds supervision (a replica that
exits is started again) and stops everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_PORT = 8501  # what make run serves on, and make serve's proxy
FIRST_REPLICA_PORT = 8601  # replica i listens on 127.0.0.1:FIRST_REPLICA_PORT + i
HEALTH_PATH = "/_stcore/health"  # Streamlit's health endpoint: 200 "ok" once the server runs
COOKIE = "nnviz_replica"  # HAProxy's affinity cookie: the name of the session's replica
TUNNEL_TIMEOUT = "1h"  # an idle websocket (a paused page) stays open this long
CHECK_INTERVAL = "1s"  # health checks; 3 failures mark a replica down, 2 successes up again
# A replica at full load may answer its health check late: with HAProxy's default (the check's
# timeout is its interval) the only replica of `make serve REPLICAS=1` under 24 live sessions was
# marked down and new pages got HTTP 503. A dead replica refuses at once, so this costs no speed.
CHECK_TIMEOUT = "4s"


def haproxy_config(servers: list[tuple[str, str]], bind: str, stats_socket: str | None = None) -> str:
    """HAProxy's configuration for replicas ``servers`` ((name, "host:port") each) behind ``bind``
    (e.g. ":8501"). One function for make serve and for deploy/haproxy.cfg (many hosts)."""
    lines = [
        "global",
        "    maxconn 4096",
    ]
    if stats_socket:
        lines.append(f"    stats socket {stats_socket} mode 600 level admin")
    lines += [
        "",
        "defaults",
        "    mode http",
        "    timeout connect 5s",
        "    timeout client 60s",
        "    timeout server 60s",
        "    timeout http-request 10s",
        f"    timeout check {CHECK_TIMEOUT}",
        f"    timeout tunnel {TUNNEL_TIMEOUT}  # websockets: Streamlit's and nnviz's live frames",
        "",
        "frontend nnviz",
        f"    bind {bind}",
        "    default_backend replicas",
        "",
        "backend replicas",
        "    balance leastconn",
        f"    cookie {COOKIE} insert indirect nocache httponly",
        "    option redispatch  # a session whose replica is down goes to a healthy one",
        "    retries 2",
        f"    option httpchk GET {HEALTH_PATH}",
        "    http-check expect status 200",
        f"    default-server inter {CHECK_INTERVAL} fall 3 rise 2",
    ]
    lines += [f"    server {name} {address} check cookie {name}" for name, address in servers]
    return "\n".join(lines) + "\n"


def _free(port: int) -> bool:
    with contextlib.closing(socket.socket()) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def find_haproxy() -> str | None:
    """The haproxy binary: on PATH, or where Debian installs it (/usr/sbin, not on a user's PATH)."""
    found = shutil.which("haproxy")
    if found:
        return found
    return next((p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)), None)


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH_PATH, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


@dataclass
class Replica:
    name: str
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Topology:
    """N replicas and HAProxy in front; ``with Topology(2) as t:`` starts and stops them all."""

    n_replicas: int
    port: int = PUBLIC_PORT
    first_replica_port: int = FIRST_REPLICA_PORT
    log_dir: Path | None = None
    quiet: bool = True
    replicas: list[Replica] = field(default_factory=list)
    haproxy: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        if self.n_replicas < 1:
            raise ValueError(f"at least one replica, got {self.n_replicas}")
        self._dir = Path(tempfile.mkdtemp(prefix="nnviz-serve-"))
        self.log_dir = Path(self.log_dir or self._dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.cookie_secret = secrets.token_hex(32)
        self.replicas = [
            Replica(f"r{i + 1}", self.first_replica_port + i, self.log_dir / f"replica-r{i + 1}.log")
            for i in range(self.n_replicas)
        ]
        self.config_path = self._dir / "haproxy.cfg"
        self.stats_socket = str(self._dir / "haproxy.sock")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ---- processes -------------------------------------------------------------------------
    def start_replica(self, replica: Replica) -> None:
        cmd = [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"),
            "--server.port", str(replica.port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false",
        ]  # fmt: skip
        env = os.environ | {"STREAMLIT_SERVER_COOKIE_SECRET": self.cookie_secret}
        with open(replica.log_path, "a") as log:
            # a session of its own: a Ctrl-C in the terminal reaches the supervisor alone, which then
            # stops the replicas and HAProxy in order (rather than racing their own exits)
            replica.proc = subprocess.Popen(
                cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def wait_healthy(self, replica: Replica, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not replica.running():
                tail = replica.log_path.read_text()[-2000:]
                raise RuntimeError(f"replica {replica.name} exited while starting:\n{tail}")
            if healthy(replica.url):
                return
            time.sleep(0.3)
        raise RuntimeError(f"replica {replica.name} did not answer {HEALTH_PATH} within {timeout:.0f} s")

    def start(self) -> Topology:
        haproxy = find_haproxy()
        if haproxy is None:
            raise RuntimeError(
                "make serve needs HAProxy (Debian: apt-get install haproxy); make run serves one process without it"
            )
        busy = [p for p in [self.port] + [r.port for r in self.replicas] if not _free(p)]
        if busy:
            raise RuntimeError(f"port(s) {', '.join(map(str, busy))} already in use (another nnviz running?)")
        servers = [(r.name, f"127.0.0.1:{r.port}") for r in self.replicas]
        self.config_path.write_text(haproxy_config(servers, f":{self.port}", self.stats_socket))
        check = subprocess.run(
            [haproxy, "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True
        )
        if check.returncode:
            raise RuntimeError(f"HAProxy refused its configuration:\n{check.stderr or check.stdout}")
        for replica in self.replicas:  # all start at once; each takes a few seconds to import
            self.start_replica(replica)
        for replica in self.replicas:
            self.wait_healthy(replica)
        out = None if not self.quiet else open(self.log_dir / "haproxy.log", "a")  # noqa: SIM115
        self.haproxy = subprocess.Popen(
            [haproxy, "-db", "-f", str(self.config_path)], stdout=out, stderr=out, start_new_session=True
        )
        deadline = time.monotonic() + 20
        while not (healthy(self.url) and len(self.servers_up()) == len(self.replicas)):
            if self.haproxy.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("HAProxy did not start; see " + str(self.log_dir / "haproxy.log"))
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        procs = [r.proc for r in self.replicas if r.proc] + ([self.haproxy] if self.haproxy else [])
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    def __enter__(self) -> Topology:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- faults and state --------------------------------------------------------------------
    def kill_replica(self, name: str) -> None:
        """SIGKILL one replica (a crash: no clean shutdown)."""
        replica = self.replica(name)
        if replica.running():
            replica.proc.kill()
            replica.proc.wait(10)

    def restart_replica(self, name: str) -> None:
        replica = self.replica(name)
        self.start_replica(replica)
        self.wait_healthy(replica)

    def replica(self, name: str) -> Replica:
        for replica in self.replicas:
            if replica.name == name:
                return replica
        raise KeyError(name)

    def stat(self) -> dict[str, dict[str, str]]:
        """HAProxy's ``show stat`` for the replicas: {name: {field: value}} (status, scur, stot, ...)."""
        with contextlib.closing(socket.socket(socket.AF_UNIX)) as s:
            s.settimeout(5)
            s.connect(self.stats_socket)
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        lines = data.decode().strip().splitlines()
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:]]
        return {r["svname"]: r for r in rows if r.get("pxname") == "replicas" and r["svname"] != "BACKEND"}

    def servers_up(self) -> list[str]:
        return [name for name, row in self.stat().items() if row.get("status", "").startswith("UP")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--replicas", type=int, default=os.cpu_count() or 1, help="default: the number of cores"
    )
    parser.add_argument("--port", type=int, default=PUBLIC_PORT)
    parser.add_argument("--first-replica-port", type=int, default=FIRST_REPLICA_PORT)
    args = parser.parse_args(argv)
    if not 1 <= args.replicas <= 64:
        parser.error(f"--replicas must be between 1 and 64, got {args.replicas}")
    topology = Topology(args.replicas, args.port, args.first_replica_port, quiet=False)
    stopping = False

    def on_signal(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        print(f"starting {args.replicas} replica(s) and HAProxy...", flush=True)
        topology.start()
        ports = ", ".join(f"{r.name} on 127.0.0.1:{r.port}" for r in topology.replicas)
        print(f"nnviz: http://localhost:{args.port}  ({ports}; logs in {topology.log_dir})", flush=True)
        print("Ctrl-C stops everything.", flush=True)
        while not stopping:
            for replica in topology.replicas:  # supervision: a replica that exits starts again
                if not replica.running():
                    print(f"replica {replica.name} exited; starting it again", flush=True)
                    topology.start_replica(replica)
            if topology.haproxy.poll() is not None:
                print("HAProxy exited; stopping", file=sys.stderr, flush=True)
                return 1
            time.sleep(0.5)
    except RuntimeError as exc:
        print(f"make serve: {exc}", file=sys.stderr)
        return 1
    finally:
        topology.stop()
        print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
