"""deploy/haproxy.cfg: HAProxy in front of ``serve.py`` replicas on several hosts, rendered by the
same ``haproxy_config`` as ``make serve`` (deploy/serve.py), with a header saying how to edit it.

    python -m deploy.hosts 10.0.0.11:8501 10.0.0.11:8502 10.0.0.12:8501 > deploy/haproxy.cfg
    python -m deploy.hosts --bind :8080 web1=10.0.0.11:8501 web2=10.0.0.12:8501

A replica is ``HOST:PORT`` or ``NAME=HOST:PORT``. Its name is HAProxy's server name and the value of
the affinity cookie, so it must stay the same while sessions live; without ``NAME=`` it is derived
from the address (``10.0.0.11:8501`` -> ``10-0-0-11-8501``), which does not change when replicas
are added, removed or reordered. The header records the command that wrote the file
(tests/test_deploy.py renders it again and compares).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys

from deploy.serve import COOKIE, HEALTH_PATH, PUBLIC_PORT, haproxy_config

DEFAULT_BIND = ":80"
COMMAND = "python -m deploy.hosts"  # the header's first line names it; the test runs it again
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a server name that is also a plain cookie value


def parse_replica(spec: str) -> tuple[str, str]:
    """``HOST:PORT`` or ``NAME=HOST:PORT`` -> (name, "host:port"); ValueError if malformed."""
    name, sep, address = spec.rpartition("=")
    if not sep:
        address = spec
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{spec!r}: expected HOST:PORT or NAME=HOST:PORT, e.g. 10.0.0.11:{PUBLIC_PORT}")
    if not sep:
        name = re.sub(r"[^A-Za-z0-9]+", "-", address).strip("-")
    if not _NAME.match(name):
        raise ValueError(f"{spec!r}: a name is letters, digits, '.', '_' and '-'")
    return name, address


def parse_replicas(specs: list[str]) -> list[tuple[str, str]]:
    servers = [parse_replica(s) for s in specs]
    if not servers:
        raise ValueError("at least one replica")
    for what, values in (("name", [n for n, _ in servers]), ("address", [a for _, a in servers])):
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"the same {what} twice: {', '.join(dupes)}")
    return servers


def header(specs: list[str], bind: str) -> str:
    args = ([] if bind == DEFAULT_BIND else ["--bind", bind]) + specs
    command = " ".join([COMMAND, *map(shlex.quote, args)])
    servers = parse_replicas(specs)
    hosts = list(dict.fromkeys(address.rpartition(":")[0] for _, address in servers))
    lines = [
        f"{command} > deploy/haproxy.cfg",
        "",
        "Generated: edit the command above (one HOST:PORT per replica) and run it again from the",
        "repository rather than editing this file; tests/test_deploy.py checks that the two agree, so a",
        "change to deploy/serve.py's haproxy_config shows up here too. docs/serving.md: Many machines.",
        "",
        f"Here: {len(servers)} replica(s) on {len(hosts)} host(s), {', '.join(hosts)}; HAProxy listens on {bind}.",
        "A replica is one process using about one core: start one per core a host has, each on its",
        "own port, reachable from this machine (and better from no other), all with the same secret:",
        "    STREAMLIT_SERVER_COOKIE_SECRET=<shared secret> streamlit run serve.py \\",
        "        --server.port PORT --server.address 0.0.0.0 --server.headless true --server.fileWatcherType none",
        f"HAProxy health-checks each on {HEALTH_PATH} and pins a browser to one replica with the",
        f"cookie {COOKIE}: a Streamlit session lives in the memory of the process that created it.",
        "Run it with: haproxy -f deploy/haproxy.cfg (or copy it to /etc/haproxy/haproxy.cfg).",
    ]
    return "".join(f"# {line}".rstrip() + "\n" for line in lines) + "\n"


def render(specs: list[str], bind: str = DEFAULT_BIND) -> str:
    """The whole file: the header, then exactly what ``haproxy_config`` renders for these replicas."""
    return header(specs, bind) + haproxy_config(parse_replicas(specs), bind)


def command_of(text: str) -> list[str]:
    """The arguments recorded in a rendered file's first line (what ``main`` takes)."""
    first = text.splitlines()[0] if text else ""
    prefix = f"# {COMMAND} "
    if not first.startswith(prefix):
        raise ValueError(f"the first line is not '{prefix}...': {first!r}")
    args = shlex.split(first[len(prefix) :])
    return args[: args.index(">")] if ">" in args else args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("replicas", nargs="+", metavar="[NAME=]HOST:PORT")
    parser.add_argument("--bind", default=DEFAULT_BIND, help=f"HAProxy's address (default {DEFAULT_BIND})")
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(render(args.replicas, args.bind))
    except ValueError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
