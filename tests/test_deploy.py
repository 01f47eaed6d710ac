"""deploy/: the many-machine files agree with deploy/serve.py and with the app.

- deploy/haproxy.cfg is what ``python -m deploy.hosts`` (serve.py's ``haproxy_config``) renders, and
  HAProxy accepts it and make serve's config;
- deploy/kubernetes.yaml: a Deployment, a Service and an Ingress whose ports, probes and affinity
  agree with serve.py's PUBLIC_PORT, HEALTH_PATH, COOKIE and TUNNEL_TIMEOUT and with
  .streamlit/config.toml;
- deploy/Dockerfile exposes, serves and health-checks the same port and path, and its health check
  passes against a running server (and fails without one).

The HAProxy checks are skipped with a reason when HAProxy is not installed, and fail instead when
NNVIZ_REQUIRE_BROWSER=1 (as in CI, .ci/run, which installs it).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml

from deploy import hosts
from deploy.serve import COOKIE, HEALTH_PATH, PUBLIC_PORT, TUNNEL_TIMEOUT, haproxy_config
from nnviz.ui.live import route
from tools.harness import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
HAPROXY_CFG = DEPLOY / "haproxy.cfg"
STREAMLIT_CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def seconds(duration: str) -> float:
    """An HAProxy duration ("1h", "60s", "500ms"; a bare number is milliseconds) in seconds."""
    match = re.fullmatch(r"(\d+)(us|ms|s|m|h|d)?", duration)
    assert match, f"not an HAProxy duration: {duration!r}"
    unit = {"us": 1e-6, "ms": 1e-3, None: 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]
    return int(match[1]) * unit


def nginx_bytes(size: str) -> int:
    """An nginx size ("3m", "512k", "1g", "1048576") in bytes."""
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", str(size))
    assert match, f"not an nginx size: {size!r}"
    return int(match[1]) * 1024 ** " kmg".index((match[2] or " ").lower())


# ---- HAProxy -----------------------------------------------------------------------------------


# (the haproxy_path fixture: tests/conftest.py)


def haproxy_check(haproxy: str, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)


def servers_of(text: str) -> list[tuple[str, str, str]]:
    """(name, address, rest of the line) of every ``server`` line."""
    return re.findall(r"^\s+server (\S+) (\S+) (.*)$", text, re.M)


class TestHAProxy:
    def test_haproxy_accepts_the_many_host_config(self, haproxy_path):
        result = haproxy_check(haproxy_path, HAPROXY_CFG)
        assert result.returncode == 0, result.stderr + result.stdout
        assert "Configuration file is valid" in result.stdout + result.stderr

    def test_haproxy_accepts_make_serves_config_for_two_local_replicas(self, haproxy_path, tmp_path):
        servers = [("r1", "127.0.0.1:8601"), ("r2", "127.0.0.1:8602")]
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy_config(servers, f":{PUBLIC_PORT}", str(tmp_path / "haproxy.sock")))
        result = haproxy_check(haproxy_path, config)
        assert result.returncode == 0, result.stderr + result.stdout

    def test_the_check_refuses_a_broken_config(self, haproxy_path, tmp_path):
        """So the two checks above can fail: a server without a port is an error."""
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy_config([("r1", "127.0.0.1:8601"), ("r2", "127.0.0.1:")], ":8501"))
        assert haproxy_check(haproxy_path, config).returncode != 0


class TestManyHostConfig:
    """deploy/haproxy.cfg and its generator, deploy/hosts.py."""

    def test_the_file_is_what_its_recorded_command_renders(self, capsys):
        text = HAPROXY_CFG.read_text(encoding="utf-8")
        args = hosts.command_of(text)
        assert hosts.main(args) == 0
        assert capsys.readouterr().out == text, (
            "deploy/haproxy.cfg is stale: run the command in its first line"
        )

    def test_below_its_header_the_file_is_exactly_haproxy_config(self):
        text = HAPROXY_CFG.read_text(encoding="utf-8")
        header, _, body = text.partition("\n\n")
        assert all(line.startswith("#") for line in header.splitlines())
        bind = re.search(r"^\s+bind (\S+)$", body, re.M)[1]
        servers = [(name, address) for name, address, _ in servers_of(body)]
        assert body == haproxy_config(servers, bind)
        assert bind == hosts.DEFAULT_BIND
        assert f"cookie {COOKIE} insert" in body and f"option httpchk GET {HEALTH_PATH}" in body

    def test_replicas_are_on_several_hosts_each_with_its_own_cookie(self):
        servers = servers_of(HAPROXY_CFG.read_text(encoding="utf-8"))
        names = [name for name, _, _ in servers]
        addresses = [address for _, address, _ in servers]
        assert len(set(names)) == len(names) and len(set(addresses)) == len(addresses)
        assert len({a.rpartition(":")[0] for a in addresses}) >= 2, "more than one host"
        assert not any(a.startswith(("127.", "localhost")) for a in addresses), "replicas on other hosts"
        for name, _, rest in servers:
            assert rest.split() == ["check", "cookie", name]

    def test_python_m_deploy_hosts_runs_from_the_repository(self):
        result = subprocess.run(
            [sys.executable, "-m", "deploy.hosts", "--bind", ":8080", "a=10.0.0.1:8501", "10.0.0.2:8502"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(
            "# python -m deploy.hosts --bind :8080 a=10.0.0.1:8501 10.0.0.2:8502 >"
        )
        assert result.stdout.endswith(
            haproxy_config([("a", "10.0.0.1:8501"), ("10-0-0-2-8502", "10.0.0.2:8502")], ":8080")
        )
        assert hosts.command_of(result.stdout) == ["--bind", ":8080", "a=10.0.0.1:8501", "10.0.0.2:8502"]

    def test_names_follow_the_address_so_reordering_keeps_cookies(self):
        forward = hosts.parse_replicas(["10.0.0.11:8501", "10.0.0.12:8501"])
        backward = hosts.parse_replicas(["10.0.0.12:8501", "10.0.0.11:8501"])
        assert (
            dict(forward)
            == dict(backward)
            == {"10-0-0-11-8501": "10.0.0.11:8501", "10-0-0-12-8501": "10.0.0.12:8501"}
        )
        assert hosts.parse_replica("web1=nnviz-a.example.org:8502") == ("web1", "nnviz-a.example.org:8502")

    @pytest.mark.parametrize(
        "specs",
        [[], ["10.0.0.11"], ["10.0.0.11:"], [":8501"], ["10.0.0.11:http"], ["10.0.0.11:70000"],
         ["bad name=10.0.0.11:8501"], ["10.0.0.11:8501", "10.0.0.11:8501"], ["a=10.0.0.11:8501", "a=10.0.0.12:8501"]],
    )  # fmt: skip
    def test_malformed_or_repeated_replicas_are_refused(self, specs):
        with pytest.raises(ValueError):
            hosts.parse_replicas(specs)


# ---- Kubernetes --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text(encoding="utf-8")) if d]
    kinds = [d["kind"] for d in docs]
    assert sorted(kinds) == ["Deployment", "Ingress", "Service"], kinds
    return {d["kind"]: d for d in docs}


def container(manifests) -> dict:
    (only,) = manifests["Deployment"]["spec"]["template"]["spec"]["containers"]
    return only


def container_port(manifests, port: int | str) -> int:
    """A port of the container by number or by name."""
    ports = container(manifests)["ports"]
    if isinstance(port, int):
        assert port in [p["containerPort"] for p in ports], f"the container has no port {port}"
        return port
    (match,) = [p["containerPort"] for p in ports if p.get("name") == port]
    return match


class TestKubernetes:
    def test_the_pods_serve_and_probe_public_port_and_health_path(self, manifests):
        c = container(manifests)
        assert [p["containerPort"] for p in c["ports"]] == [PUBLIC_PORT]
        for probe in ("readinessProbe", "livenessProbe"):
            get = c[probe]["httpGet"]
            assert get["path"] == HEALTH_PATH, probe
            assert container_port(manifests, get["port"]) == PUBLIC_PORT, probe

    def test_two_replicas_of_one_core_each(self, manifests):
        deployment = manifests["Deployment"]["spec"]
        assert deployment["replicas"] == 2
        resources = container(manifests)["resources"]
        assert str(resources["requests"]["cpu"]) == str(resources["limits"]["cpu"]) == "1"
        assert resources["requests"]["memory"] == "1Gi"
        labels = deployment["template"]["metadata"]["labels"]
        assert deployment["selector"]["matchLabels"].items() <= labels.items()

    def test_every_pod_gets_the_cookie_secret_from_a_secret(self, manifests):
        # the XSRF cookie is signed with it: with protection on, all pods need the same one
        assert STREAMLIT_CONFIG["server"].get("enableXsrfProtection", True)
        env = {e["name"]: e for e in container(manifests)["env"]}
        ref = env["STREAMLIT_SERVER_COOKIE_SECRET"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] and ref["key"] and "value" not in env["STREAMLIT_SERVER_COOKIE_SECRET"]

    def test_the_service_selects_the_pods_and_targets_their_port(self, manifests):
        service = manifests["Service"]["spec"]
        assert service.get("type", "ClusterIP") == "ClusterIP"
        pod_labels = manifests["Deployment"]["spec"]["template"]["metadata"]["labels"]
        assert service["selector"].items() <= pod_labels.items()
        (port,) = service["ports"]
        assert port["port"] == 80
        assert container_port(manifests, port["targetPort"]) == PUBLIC_PORT

    def test_the_ingress_routes_everything_to_the_services_port(self, manifests):
        ingress = manifests["Ingress"]
        assert ingress["spec"]["ingressClassName"] == "nginx"
        service_ports = manifests["Service"]["spec"]["ports"]
        paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
        assert paths
        for path in paths:
            backend = path["backend"]["service"]
            assert backend["name"] == manifests["Service"]["metadata"]["name"]
            port = backend["port"]
            assert any(
                port.get("number") == p["port"] or port.get("name") == p.get("name") for p in service_ports
            )
        # every route of a session reaches the same backend, the live websocket included
        routes = ["/", HEALTH_PATH, "/_stcore/stream", "/_stcore/upload_file/x", "/app/static/plotly.min.js", f"/{route.PATH}/token"]  # fmt: skip
        prefixes = [p["path"] for p in paths if p["pathType"] == "Prefix"]
        for r in routes:
            assert any(r.startswith(prefix) for prefix in prefixes), r

    def test_the_ingress_pins_a_browser_to_one_pod_and_keeps_websockets_open(self, manifests):
        annotations = manifests["Ingress"]["metadata"]["annotations"]
        nginx = {k.removeprefix("nginx.ingress.kubernetes.io/"): str(v) for k, v in annotations.items()}
        assert nginx["affinity"] == "cookie"
        assert nginx["affinity-mode"] == "persistent"
        assert nginx["session-cookie-name"] == COOKIE
        assert int(nginx["session-cookie-max-age"]) >= seconds(TUNNEL_TIMEOUT)
        for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
            assert int(nginx[timeout]) == seconds(TUNNEL_TIMEOUT) == 3600, timeout
        # a CSV of Streamlit's maximum upload size gets through nginx (whose default is 1 MB)
        max_upload = STREAMLIT_CONFIG["server"]["maxUploadSize"] * 1024 * 1024
        assert nginx_bytes(nginx["proxy-body-size"]) > max_upload


class TestTheAppsConfig:
    """What the deploy files assume of .streamlit/config.toml and make run."""

    def test_the_app_serves_on_public_port_at_the_root(self):
        server = STREAMLIT_CONFIG.get("server", {})
        assert server.get("port", PUBLIC_PORT) == PUBLIC_PORT  # Streamlit's default is 8501 too
        # a base path would move the health endpoint and every route the probes and proxies expect
        assert not server.get("baseUrlPath"), "the probes and HEALTH_PATH assume no server.baseUrlPath"
        assert server.get("headless") is True

    def test_make_run_serves_on_public_port(self):
        makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
        assert int(re.search(r"^PORT\s*\?=\s*(\d+)", makefile, re.M)[1]) == PUBLIC_PORT


# ---- Dockerfile --------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined, comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            out.append((instruction.upper(), args.strip()))
    return out


def instructions(name: str) -> list[str]:
    return [args for instruction, args in dockerfile() if instruction == name]


def healthcheck_command() -> list[str]:
    (check,) = instructions("HEALTHCHECK")
    _, _, cmd = check.partition(" CMD ")
    return json.loads(cmd)


def dockerignored(name: str) -> bool:
    """Whether .dockerignore leaves the top-level ``name`` out of the build context."""
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions are not handled here"
    return any(fnmatch.fnmatch(name, p.removeprefix("**/")) for p in patterns)


class TestDockerfile:
    def test_python_311_slim_with_a_cpu_torch(self):
        assert instructions("FROM") == ["python:3.11-slim"]
        (pip,) = [r for r in instructions("RUN") if "pip install" in r]
        args = shlex.split(pip)
        assert args[args.index("--extra-index-url") + 1] == "https://download.pytorch.org/whl/cpu"
        assert args[args.index("-r") + 1] == "requirements.txt"
        assert "requirements.txt ." in instructions("COPY")

    def test_exposes_and_serves_public_port_with_serve_py(self):
        assert instructions("EXPOSE") == [str(PUBLIC_PORT)]
        (cmd,) = instructions("CMD")
        cmd = json.loads(cmd)
        assert cmd[:3] == ["streamlit", "run", "serve.py"]
        options = dict(zip(cmd[3::2], cmd[4::2], strict=True))
        assert options["--server.port"] == str(PUBLIC_PORT)
        assert options["--server.address"] == "0.0.0.0"
        assert options["--server.headless"] == "true"

    def test_the_health_check_asks_the_health_path_of_that_port(self):
        # exactly: Streamlit answers any other path with the page, status 200 as well
        urls = re.findall(r"https?://[^'\"\s]+", " ".join(healthcheck_command()))
        assert urls == [f"http://127.0.0.1:{PUBLIC_PORT}{HEALTH_PATH}"]

    def test_the_build_context_has_the_app_and_not_the_local_environment(self):
        for needed in ("app.py", "serve.py", "nnviz", "static", ".streamlit", "requirements.txt"):
            assert (ROOT / needed).exists() and not dockerignored(needed), needed
        for left_out in (".venv", ".git", "test-artifacts"):
            assert dockerignored(left_out), left_out


# ---- against a running server ------------------------------------------------------------------


def test_health_path_is_what_a_running_server_answers_ok_on(app_server):
    """``streamlit run serve.py`` answers HEALTH_PATH with 200 "ok" (not the page, which any path
    gets), and the Dockerfile's health check passes against it and fails where nothing listens."""
    url, _, _ = app_server
    with urllib.request.urlopen(url + HEALTH_PATH, timeout=10) as response:
        assert response.status == 200
        assert response.read().decode().strip() == "ok"
    port = url.rpartition(":")[2]
    check = [sys.executable if arg == "python" else arg for arg in healthcheck_command()]

    def run(on_port: str) -> int:
        cmd = [arg.replace(f"127.0.0.1:{PUBLIC_PORT}/", f"127.0.0.1:{on_port}/") for arg in check]
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode

    assert run(port) == 0
    assert run(str(free_port())) != 0
