"""What a session behind HAProxy (deploy/serve.py's Topology) needs: a browser's cookie jar for
HAProxy's affinity cookie, the page's first HTTP request (whose response sets that cookie), and the
ground truth of where HAProxy sent a connection (``show sess`` on its stats socket: the client's
source port -> the replica it is connected to)."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.parse

from deploy.serve import COOKIE

SESS_LINE = re.compile(r"src=127\.0\.0\.1:(\d+) fe=\S+ be=\S+ srv=(\S+)")


class CookieJar:
    """The cookies of one browser profile for one host (name -> value), as a browser keeps them
    across page loads; Set-Cookie headers of any response (the page, a websocket's 101) update it."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def update(self, set_cookies: list[str]) -> str | None:
        """Store the cookies set; returns the replica named by HAProxy's cookie if it set one."""
        replica = None
        for header in set_cookies:
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
            if name.strip() == COOKIE:
                replica = value.strip()
        return replica

    @property
    def replica(self) -> str | None:
        return self.cookies.get(COOKIE)

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


async def http_get(url: str, cookie: str = "", timeout: float = 60.0) -> tuple[int, list[str]]:
    """GET ``url`` as a browser loads the page (HTTP/1.1, one connection); returns the status and
    the Set-Cookie headers. The body (Streamlit's index.html) is read and dropped."""
    u = urllib.parse.urlsplit(url)
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    lines = [f"GET {path} HTTP/1.1", f"Host: {u.netloc}", "User-Agent: nnviz-loadtest", "Accept: text/html"]
    lines += [f"Cookie: {cookie}"] if cookie else []
    request = "\r\n".join(lines + ["Connection: close", "", ""]).encode()

    async def get() -> bytes:
        reader, writer = await asyncio.open_connection(u.hostname, u.port)
        try:
            writer.write(request)
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()

    data = await asyncio.wait_for(get(), timeout)
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1]) if head and len(head[0].split()) > 1 else 0
    set_cookies = [v.strip() for k, _, v in (h.partition(":") for h in head[1:]) if k.lower() == "set-cookie"]
    return status, set_cookies


class Sessions:
    """HAProxy's ``show sess``: which replica each client connection is on. One query answers every
    lookup made within ``max_age`` s of it (a connection just made is always looked up afresh)."""

    def __init__(self, stats_socket: str, max_age: float = 0.3) -> None:
        self.stats_socket, self.max_age = stats_socket, max_age
        self._at, self._map = 0.0, {}
        self._lock = asyncio.Lock()
        self.queries = 0

    async def _query(self) -> dict[int, str]:
        reader, writer = await asyncio.open_unix_connection(self.stats_socket)
        try:
            writer.write(b"show sess\n")
            await writer.drain()
            text = (await asyncio.wait_for(reader.read(), 10)).decode(errors="replace")
        finally:
            writer.close()
        self.queries += 1
        out: dict[int, str] = {}
        for m in SESS_LINE.finditer(text):  # (a port seen twice: an old stream, closing; keep a server)
            if m.group(2) != "<none>" or int(m.group(1)) not in out:
                out[int(m.group(1))] = m.group(2)
        return out

    async def server_of(self, local_port: int, since: float | None = None, tries: int = 5) -> str | None:
        """The replica the connection from ``local_port`` is on (None if HAProxy has no such
        session, or none with a server). ``since``: the monotonic time the connection was made;
        answers to queries sent before it do not count."""
        since = time.monotonic() if since is None else since
        for attempt in range(tries):
            async with self._lock:
                if self._at < since or time.monotonic() - self._at > self.max_age or attempt:
                    at = time.monotonic()
                    self._map, self._at = await self._query(), at
                srv = self._map.get(local_port)
            if srv is not None and srv != "<none>":
                return srv
            await asyncio.sleep(0.2)
        return None
