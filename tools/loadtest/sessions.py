"""The two kinds of sessions, both with ``start``, ``goto(settings)``, ``drain(until)`` (the states
the page showed since the last drain, each with its time) and ``close``:

* BrowserSession: a Chromium context + page, with a recorder (RECORDER_JS) injected into every
  document that notes each distinct state of the page;
* WebsocketSession: Streamlit's browser protocol spoken without a browser, following nnviz's live
  websocket as the page's chart does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time

from deploy.serve import COOKIE
from tools.loadtest.checks import Results
from tools.loadtest.haproxy import CookieJar, Sessions, http_get
from tools.loadtest.settings import Settings

VIEWPORT = {"width": 1280, "height": 800}
BOUNDARY_KEY = "boundary"  # charts.show(..., key="boundary") in nnviz/ui/live/view.py

# Runs in every document before the app's scripts: records each distinct state of the page with
# a timestamp (Date.now(), the same clock as Python's time.time()); Python drains the list.
RECORDER_JS = r"""
(() => {
  if (window.__lt) return;
  const lt = {events: [], last: ''};
  window.__lt = lt;
  const clean = s => (s || '').replace(/<[^>]+>|■/g, '').trim();
  // while a fragment reruns, Streamlit keeps the previous elements on the page, marked stale
  const stale = el => { const c = el.closest('[data-stale]'); return !!c && c.getAttribute('data-stale') === 'true'; };
  const snap = () => {
    const progs = [...document.querySelectorAll('[data-testid="stProgress"]')];
    const prog = progs.find(p => !stale(p)) || progs[0];
    const m = prog ? /Epoch (\d+) \/ (\d+)/.exec(prog.innerText || '') : null;
    // every drawn boundary chart (the stale one too): its heatmaps (contours or images) and titles
    const charts = [];
    for (const el of document.querySelectorAll('.nnviz-chart[data-chart="__KEY__"]')) {
      if (!el.data || !el.layout || !el.data.length) continue;
      const heat = (el.layout.images || []).length;
      const titles = (el.layout.annotations || []).map(a => clean(a.text)).filter(t => t.includes(' · '));
      charts.push({heat, titles, stale: stale(el)});
    }
    const ds = document.querySelector('[data-testid="stSidebar"] input[aria-label="Dataset"]');
    const errs = [...document.querySelectorAll(
      '[data-testid="stException"], [data-testid="stAlertContentError"], [data-testid="stAlertContentWarning"]'
    )].map(e => (e.innerText || '').trim().slice(0, 300));
    const ev = {epoch: m ? +m[1] : null, total: m ? +m[2] : null, charts, ds: ds ? ds.value : null,
                search: location.search, errs};
    const key = JSON.stringify(ev);
    if (key !== lt.last) { lt.last = key; ev.t = Date.now(); lt.events.push(ev); }
  };
  lt.drain = () => { snap(); const e = lt.events; lt.events = []; return e; };
  // nnviz's live socket (charts.js): frames received and how it closed; a socket that reached
  // another replica than the page's session is closed at once with code 4404 (route.py)
  lt.live = {opened: 0, frames: 0, closes: []};
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      if (String(args[0]).includes('/nnviz/live/')) {
        lt.live.opened++;
        const t0 = Date.now();
        this.addEventListener('message', () => { lt.live.frames++; });
        this.addEventListener('close', e => { lt.live.closes.push({code: e.code, after_s: (Date.now() - t0) / 1000}); });
      }
    }
  };
  new MutationObserver(snap).observe(document, {subtree: true, childList: true, characterData: true});
  setInterval(snap, 250);
})();
""".replace("__KEY__", BOUNDARY_KEY)
DRAIN_JS = "() => window.__lt ? window.__lt.drain() : []"
LIVE_JS = "() => window.__lt ? window.__lt.live : null"
LIVE_CLOSED_ELSEWHERE = 4404  # route.py: no such session on this replica


def _plain_titles(texts: list[str]) -> list[str]:
    """Boundary panel titles without their markup (the run's colour swatch)."""
    plain = [re.sub(r"<[^>]+>|■", "", t).strip() for t in texts]
    return [t for t in plain if " · " in t]


def parse_frame(text: str) -> tuple[int, int, int, list[str]]:
    """A live frame's epoch, epoch budget, number of panel images and titles, read from its
    header and its tail: the images (PNG data URIs, ~40-60 KB in all) are counted, not decoded,
    so that the load-generating client stays light. Any other layout is parsed in full."""
    i = text.find(',"images":[')
    j = text.rfind('],"titles":')
    if text.startswith('{"rev":') and 0 < i < j and text.endswith("}"):
        head = json.loads(text[:i] + "}")
        titles = json.loads(text[j + len('],"titles":') : -1])
        images = text.count('"data:image/', i, j + 1)
        return head["epoch"], head["epochs"], images, titles
    frame = json.loads(text)
    return frame["epoch"], frame["epochs"], len(frame["images"]), frame["titles"]


def _closed_how(exc: Exception) -> dict:
    """How a websocket ended: the exception, the close code and reason received (1006, no close
    frame, when the TCP connection just went away)."""
    rcvd = getattr(exc, "rcvd", None)
    return {
        "exception": type(exc).__name__,
        "code": rcvd.code if rcvd is not None else 1006,
        "reason": rcvd.reason if rcvd is not None else "",
        "detail": str(exc)[:200],
    }


class BrowserSession:
    """A Chromium context + page; every navigation is a new Streamlit session. Its context keeps
    the cookies of its page loads, as a browser profile does (HAProxy's affinity cookie too)."""

    kind = "chromium"

    def __init__(self, browser, url: str, tag: str, results: Results) -> None:
        self.browser, self.url, self.tag, self.results = browser, url, tag, results
        self.context = self.page = None
        self.doc = None  # the page load being watched (set by LoadTest.open)
        self.closed = None  # (websocket sessions only: how the server's socket ended)

    async def start(self) -> None:
        self.context = await self.browser.new_context(viewport=VIEWPORT)
        await self.context.add_init_script(RECORDER_JS)
        self.page = await self.context.new_page()
        self.page.on(
            "pageerror",
            lambda exc: self.results.fail(f"[{self.tag}] uncaught JavaScript error: {exc}", "error"),
        )

    async def goto(self, settings: Settings) -> None:
        await self.page.goto(self.url + "/" + settings.query, wait_until="commit", timeout=60_000)

    async def drain(self, until: float) -> list[dict]:
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        try:
            return await asyncio.wait_for(self.page.evaluate(DRAIN_JS), 30)
        except Exception as exc:  # a document being replaced: its last states are lost
            if "context was destroyed" in str(exc) or "navigat" in str(exc).lower():
                return []
            raise

    async def replica(self) -> str | None:
        """The replica HAProxy's cookie names (None without the proxy)."""
        for cookie in await self.context.cookies():
            if cookie["name"] == COOKIE:
                return cookie["value"]
        return None

    async def live_stats(self) -> dict | None:
        """The current document's live socket: {opened, frames, closes: [{code, after_s}]}."""
        try:
            return await asyncio.wait_for(self.page.evaluate(LIVE_JS), 30)
        except Exception:  # noqa: BLE001 - a document being replaced
            return None

    async def screenshot(self, path) -> None:
        await self.page.screenshot(path=str(path))

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


class WebsocketSession:
    """Streamlit's browser protocol without a browser: connect to /_stcore/stream, ask for a run
    with the page's query string, answer st.fragment(run_every) with fragment reruns on a timer
    (as the frontend's setInterval does), and decode what the page would show.

    Behind HAProxy (``haproxy``: its ``show sess``, tools/loadtest/haproxy.py) it also does what a
    browser does for the affinity cookie: it loads the page first (the response sets HAProxy's
    cookie), keeps its cookies across page loads and sends them on Streamlit's socket and on the
    live socket; and it checks where HAProxy sent each socket (Doc.replica, stream_srv, live_srv)."""

    kind = "websocket"

    def __init__(self, url: str, tag: str, results: Results, haproxy: Sessions | None = None) -> None:
        self.http_base = url
        self.ws_base = "ws" + url.removeprefix("http") + "/"
        self.ws_url = self.ws_base + "_stcore/stream"
        self.tag, self.results, self.haproxy = tag, results, haproxy
        self.jar = CookieJar()
        self.ws = None
        self.doc = None  # the page load being watched (set by LoadTest.open)
        self.closed: dict | None = None  # how the server's socket ended, if it did
        self.timers: dict[str, tuple[float, asyncio.Task]] = {}
        self.follow: tuple[str, asyncio.Task] | None = None  # nnviz's live frames, as charts.js does
        self.frame_events: list[dict] = []

    async def start(self) -> None:
        pass

    def _headers(self) -> dict[str, str] | None:
        return {"Cookie": self.jar.header()} if self.haproxy is not None and self.jar.cookies else None

    async def _where(self, ws, since: float, what: str) -> str | None:
        """Behind the proxy: the replica HAProxy sent ``ws`` to; fails the check unless it is the
        one the session's cookie names (a 101 that sets a new cookie was redispatched: that one)."""
        from websockets.protocol import State

        moved = self.jar.update(ws.response.headers.get_all("Set-Cookie"))
        srv = await self.haproxy.server_of(ws.local_address[1], since)
        want = moved or self.jar.replica
        if srv is None and ws.state is not State.OPEN:
            return None  # it closed meanwhile (the session ended): no stream left to look up
        if srv is None or srv != want:
            doc = self.doc
            self.results.fail(
                f"[{self.tag} {doc.settings.short() if doc else ''}] {what} went to replica {srv}, "
                f"the session's cookie names {want}",
                "affinity",
            )
        return srv

    async def goto(self, settings: Settings) -> None:
        import websockets

        await self.close()
        self.closed = None
        self.query = settings.query.lstrip("?")
        self.page_hash = ""
        self.state = {
            "epoch": None,
            "total": None,
            "charts": [],
            "ds": None,
            "search": settings.query,
            "errs": [],
        }
        self.last = ""
        if self.haproxy is not None:  # the page itself first: its response sets HAProxy's cookie
            status, set_cookies = await http_get(self.http_base + "/" + settings.query, self.jar.header())
            self.jar.update(set_cookies)
            if status != 200:
                raise RuntimeError(f"page load {settings.query}: HTTP {status}")
        since = time.monotonic()
        try:
            self.ws = await websockets.connect(
                self.ws_url,
                subprotocols=["streamlit"],
                max_size=None,
                open_timeout=60,
                ping_interval=None,
                additional_headers=self._headers(),
            )
        except websockets.InvalidStatus as exc:  # HAProxy's 503 (no replica UP): as a failed page load
            if self.haproxy is None:
                raise
            raise RuntimeError(
                f"Streamlit's socket for {settings.query}: HTTP {exc.response.status_code}"
            ) from exc
        if self.haproxy is not None and self.doc is not None:
            self.doc.stream_srv = await self._where(self.ws, since, "Streamlit's socket")
            self.doc.replica = self.jar.replica
        await self._rerun()

    async def _rerun(self, fragment_id: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.query_string = self.query
        msg.rerun_script.page_script_hash = self.page_hash
        if fragment_id:
            msg.rerun_script.fragment_id = fragment_id
            msg.rerun_script.is_auto_rerun = True
        await self.ws.send(msg.SerializeToString())

    async def _tick(self, fragment_id: str, interval: float) -> None:
        with contextlib.suppress(Exception):  # the connection closed: the timer dies with it
            while True:
                await asyncio.sleep(interval)
                await self._rerun(fragment_id)

    def _cancel(self, fragment_id: str) -> None:
        entry = self.timers.pop(fragment_id, None)
        if entry:
            entry[1].cancel()

    def _apply(self, raw: bytes) -> None:
        """Update what the page would show from one ForwardMsg."""
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = ForwardMsg.FromString(raw)
        kind, st = msg.WhichOneof("type"), self.state
        if kind == "new_session":
            self.page_hash = msg.new_session.page_script_hash
        elif kind == "page_info_changed":
            qs = msg.page_info_changed.query_string
            st["search"] = "?" + qs if qs else ""
            self.query = qs
        elif kind == "auto_rerun":
            fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid and self.timers.get(fid, (None,))[0] != interval:
                self._cancel(fid)
                self.timers[fid] = (interval, asyncio.create_task(self._tick(fid, interval)))
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                self._cancel(fid)
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            etype = element.WhichOneof("type")
            el = getattr(element, etype)
            if etype == "progress":
                m = re.search(r"Epoch (\d+) / (\d+)", el.text)
                if m:
                    st["epoch"], st["total"] = int(m.group(1)), int(m.group(2))
            elif (
                etype == "bidi_component"
                and (payload := json.loads(el.bytes or b"{}")).get("name") == BOUNDARY_KEY
            ):
                layout = payload["figure"].get("layout", {})
                heat = len(layout.get("images", []))
                titles = [a.get("text", "") for a in layout.get("annotations", [])]
                st["charts"] = [{"heat": heat, "titles": _plain_titles(titles), "stale": False}]
                stream = payload.get("stream")
                if stream and (self.follow is None or self.follow[0] != stream["path"]):
                    self._unfollow()
                    task = asyncio.create_task(self._frames(stream["path"], self.doc))
                    self.follow = (stream["path"], task)
            elif etype == "selectbox" and el.label == "Dataset":
                # as the frontend: a widget keeps its value across reruns unless the server sets one
                if el.raw_value or st["ds"] is None:
                    st["ds"] = el.raw_value or (
                        el.options[el.default] if len(el.options) > el.default else None
                    )
            elif etype == "exception":
                st["errs"] = [f"{el.type}: {el.message}"[:300]]
            elif etype == "alert" and el.format in (Alert.ERROR, Alert.WARNING):
                st["errs"] = [el.body[:300]]

    async def _frames(self, path: str, doc) -> None:
        """The live websocket of the boundary chart (nnviz/ui/live/): each frame is an update of
        what the page shows (its epoch, its panels and their titles), as in charts.js. How the
        socket ended goes to ``doc.live["closes"]`` (not when the session closes it itself)."""
        import websockets

        live = doc.live if doc is not None else {}
        live.setdefault("opened", 0)
        live.setdefault("frames", 0)
        live.setdefault("closes", [])
        t0 = time.time()
        since = time.monotonic()
        try:
            async with websockets.connect(
                self.ws_base + path, max_size=None, ping_interval=None, additional_headers=self._headers()
            ) as ws:
                live["opened"] += 1
                if self.haproxy is not None and doc is not None:
                    doc.live_srv = await self._where(ws, since, "the live socket")
                    if None not in (doc.stream_srv, doc.live_srv) and doc.live_srv != doc.stream_srv:
                        self.results.fail(
                            f"[{self.tag} {doc.settings.short()}] live socket on {doc.live_srv}, "
                            f"Streamlit's socket on {doc.stream_srv}",
                            "affinity",
                        )
                async for text in ws:
                    epoch, epochs, n_images, titles = parse_frame(text)
                    live["frames"] += 1
                    st = self.state
                    st["epoch"], st["total"] = epoch, epochs
                    st["charts"] = [{"heat": n_images, "titles": _plain_titles(titles), "stale": False}]
                    self.frame_events.append(dict(st, t=time.time() * 1000, errs=[]))
                how = {"exception": None, "code": ws.close_code, "reason": ws.close_reason or ""}
        except websockets.ConnectionClosed as exc:
            how = _closed_how(exc)
        except Exception as exc:  # noqa: BLE001 - refused, or a bad frame: frames stop
            how = {"exception": type(exc).__name__, "code": None, "reason": "", "detail": str(exc)[:200]}
            response = getattr(exc, "response", None)  # InvalidStatus: the handshake's HTTP answer
            if getattr(response, "status_code", None) is not None:
                how["code"] = f"HTTP {response.status_code}"
        how.update(t=time.time(), after_s=round(time.time() - t0, 2))
        live["closes"].append(how)
        if self.haproxy is not None and how["code"] == LIVE_CLOSED_ELSEWHERE and doc is not None:
            self.results.fail(
                f"[{self.tag} {doc.settings.short()}] live socket refused by its replica (4404: no such "
                "session there)",
                "affinity",
            )

    async def settle_live(self, timeout: float = 1.0) -> None:
        """Give the live socket up to ``timeout`` s to end by itself (after Streamlit's socket closed:
        both went to the same replica), so that how it ended is recorded before a reconnect."""
        if self.follow is not None and not self.follow[1].done():
            await asyncio.wait([self.follow[1]], timeout=timeout)

    def _unfollow(self) -> None:
        if self.follow is not None:
            self.follow[1].cancel()
            self.follow = None

    async def drain(self, until: float) -> list[dict]:
        import websockets

        events = []
        while self.closed is None and (left := until - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.ws.recv(), left)
            except TimeoutError:
                break
            except websockets.ConnectionClosed as exc:  # the server (or its replica) went away
                self.closed = dict(_closed_how(exc), t=time.time())
                break
            self._apply(raw)
            key = json.dumps(self.state, sort_keys=True)
            if key != self.last:
                self.last = key
                events.append(dict(self.state, t=time.time() * 1000))
                self.state["errs"] = []  # an error is reported once, when it arrives
        events += self.frame_events
        self.frame_events = []
        return sorted(events, key=lambda ev: ev["t"])

    async def close(self) -> None:
        self._unfollow()
        self.frame_events = []
        for fid in list(self.timers):
            self._cancel(fid)
        if self.ws is not None:
            await self.ws.close()
            self.ws = None
