// nnviz's Plotly charts (a Streamlit components-v2 component, see charts.py).
//
// Streamlit calls the default export on every script or fragment run that sends this chart new
// data. The chart div is made once per element and redrawn in place with Plotly.react, which
// diffs the figure against the one on screen: no remount, and the user's zoom, pan and legend
// clicks survive live updates (layout.uirevision).
//
// plotly.js is loaded once per page from the app's static folder (server.enableStaticServing).
// Evaluating its 4.8 MB takes ~0.8 s of main thread in headless Chromium on a small machine; on a
// session's first page the boundary chart is shown meanwhile as a plain picture (see adoptFirstPaint).

const PLOTLY_URL = "__PLOTLY_URL__";
let loading = null;

function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL(PLOTLY_URL, document.baseURI).href;
      script.async = true;
      script.onload = () => {
        performance.mark("nnviz:plotly-loaded");
        return window.Plotly ? resolve(window.Plotly) : reject(new Error("no Plotly"));
      };
      script.onerror = () => {
        script.remove();
        setTimeout(() => (loading = null), 10000); // a later update may try again, not every frame
        reject(new Error("could not load " + PLOTLY_URL));
      };
      document.head.appendChild(script);
    });
  }
  return loading;
}

function decode(data) {
  if (typeof data === "string") return JSON.parse(data);
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  return JSON.parse(new TextDecoder().decode(bytes));
}

// The div of class ``className`` in ``parent``, made (first or last in it) if there is none.
function childOf(parent, className, css, first = false) {
  let el = parent.querySelector("." + className);
  if (!el) {
    el = document.createElement("div");
    el.className = className;
    el.style.cssText = css;
    if (first) parent.prepend(el);
    else parent.appendChild(el);
  }
  return el;
}

// ---- the first paint ---------------------------------------------------------------------------

// On a session's first page the server puts a plain-HTML picture of the chart right before it
// (charts.py, first_paint): the browser shows it with the rest of the page, well before this script
// has its data and plotly.js is loaded. This script then moves a copy of it into the chart (the
// page's own may go with the next run), where it stays until the interactive chart replaces it, or
// for good, with a note, if plotly.js cannot be loaded.
function adoptFirstPaint(div, name) {
  if (div._fullLayout || div.querySelector(".nnviz-preview")) return;
  const picture = document.querySelector(`.nnviz-first-paint[data-chart="${name}"]`);
  if (!picture) return;
  const copy = picture.cloneNode(true);
  copy.className = "nnviz-preview";
  copy.style.marginBottom = "0";
  div.prepend(copy);
  (picture.closest('[data-testid="stElementContainer"]') || picture).style.display = "none";
}

// ---- the interactive chart ---------------------------------------------------------------------

// The figure without its layout images' pixels: when only those changed since the last draw, the
// update is an image swap (swapImages, ~2 ms for 8 panels in headless Chromium; Plotly.relayout,
// ~25 ms, if that cannot be done) instead of a full redraw of every trace (~220 ms, 8 x 400 points).
function withoutImageSources(figure) {
  const images = (figure.layout && figure.layout.images) || [];
  const layout = { ...figure.layout, images: images.map((im) => ({ ...im, source: null })) };
  return JSON.stringify({ ...figure, layout });
}

// The cheapest update of all: plotly.js draws each layout image as an SVG <image> bound (d3) to its
// entry in gd._fullLayout.images; pointing those at the new pixels, and the figure's layout with
// them, skips relayout's defaults pass over every trace (~20 ms a frame for 8 panels). If the
// drawing is not as expected (another plotly.js version), returns false: then Plotly.relayout.
function swapImages(div, images) {
  const full = div._fullLayout.images || [];
  const elements = [...div.querySelectorAll(".imagelayer image")];
  const bound = elements.map((el) => el.__data__);
  if (elements.length !== images.length || bound.some((d) => !d || full[d._index] !== d)) return false;
  elements.forEach((el, i) => {
    const k = bound[i]._index;
    const source = images[k].source;
    if (el._imgSrc === source) return;
    el.setAttribute("href", source);
    el._imgSrc = source; // plotly.js's own record of what the element shows
    bound[i].source = source;
    div.layout.images[k].source = source;
  });
  return true;
}

function draw(Plotly, div, spec) {
  const figure = spec.figure;
  const stream = spec.stream;
  if (stream && div._fullLayout && stream.rev === div._nnvizRev && stream.epoch < div._nnvizEpoch) {
    return Promise.resolve(div); // live frames have already shown later epochs than this figure
  }
  div._nnvizRev = stream ? stream.rev : null;
  div._nnvizEpoch = stream ? stream.epoch : -1;
  const rest = withoutImageSources(figure) + JSON.stringify(spec.config);
  const images = (figure.layout && figure.layout.images) || [];
  div._nnvizFigure = figure;
  div._nnvizConfig = spec.config;
  if (div._nnvizRest === rest && div._fullLayout) {
    if (swapImages(div, images)) {
      div.dataset.swaps = String(Number(div.dataset.swaps || 0) + 1);
      return Promise.resolve(div);
    }
    const old = div.layout.images || [];
    const update = {};
    images.forEach((im, k) => {
      if (!old[k] || old[k].source !== im.source) update[`images[${k}].source`] = im.source;
    });
    return Object.keys(update).length ? Plotly.relayout(div, update) : Promise.resolve(div);
  }
  const preview = div.querySelector(".nnviz-preview");
  if (preview) {
    if (figure.layout && figure.layout.height) div.style.minHeight = figure.layout.height + "px"; // its place
    preview.remove();
  }
  return Plotly.react(div, { ...fittedHeight(div, figure), config: spec.config }).then((gd) => {
    div._nnvizRest = rest;
    hoverPictures(gd);
    return gd;
  });
}

// A figure whose height the server computed for a nominal width (layout.meta.nominalWidth: the
// boundary panels, which keep the data's aspect) gets the height of the width it really has: its
// panels' part scaled by the ratio, its margins (px) as they are. Without it a narrower column
// (a 1024 px window) leaves tall empty bands around every panel, a wider one cramps them.
function fittedHeight(div, figure) {
  const layout = figure.layout || {};
  const nominal = layout.meta && layout.meta.nominalWidth;
  const width = div.clientWidth;
  if (!nominal || !width || !layout.height) return figure;
  const margin = layout.margin || {};
  const fixed = (margin.t || 0) + (margin.b || 0);
  const scale = Math.min(1.6, Math.max(0.45, width / nominal));
  const height = Math.round(fixed + (layout.height - fixed) * scale);
  div.style.minHeight = height + "px";
  return { ...figure, layout: { ...layout, height } };
}

// ---- pictures on hover -------------------------------------------------------------------------

// Plotly's hover label cannot show an image. When a hovered point's customdata carries one (its
// first entry, or the customdata itself, a "data:image/" URI: the Network tab's units do, see
// nnviz/figures/network.py), it is shown large in a floating element beside the cursor, on the side
// away from Plotly's label, and removed when the point is left. Any chart may use it.
const HOVER_PICTURE_PX = 168;

function hoverPictures(div) {
  if (div._nnvizHoverPictures || typeof div.on !== "function") return;
  div._nnvizHoverPictures = true;
  div.on("plotly_hover", (event) => showHoverPicture(div, event));
  div.on("plotly_unhover", hideHoverPicture);
  div.addEventListener("mouseleave", hideHoverPicture);
}

function hoverPictureSource(event) {
  const point = event && event.points && event.points[0];
  const data = point && point.customdata;
  const first = Array.isArray(data) ? data[0] : data;
  return typeof first === "string" && first.startsWith("data:image/") ? first : null;
}

function showHoverPicture(div, event) {
  const source = hoverPictureSource(event);
  if (!source) return hideHoverPicture();
  let box = document.querySelector(".nnviz-hover-picture");
  if (!box) {
    box = document.createElement("div");
    box.className = "nnviz-hover-picture";
    box.style.cssText = "position:fixed;z-index:1000010;pointer-events:none;background:#fff;padding:3px;"
      + "border:1px solid #bdbdbd;border-radius:3px;box-shadow:0 2px 8px rgba(0,0,0,.18);line-height:0";
    const img = document.createElement("img");
    img.alt = "";
    img.style.cssText = `width:${HOVER_PICTURE_PX}px;height:${HOVER_PICTURE_PX}px;display:block`;
    box.appendChild(img);
    document.body.appendChild(box);
  }
  const img = box.firstChild;
  if (img.getAttribute("src") !== source) img.setAttribute("src", source);
  // Plotly has drawn its label before this event: the picture goes beside it, on the cursor's side
  // away from it (left or right, else above or below), inside the window.
  const mouse = event.event || {};
  const x = mouse.clientX || 0;
  const y = mouse.clientY || 0;
  const size = HOVER_PICTURE_PX + 8;
  const gap = 10;
  const label = div.querySelector(".hoverlayer .hovertext");
  const r = label ? label.getBoundingClientRect() : { left: x, right: x, top: y, bottom: y, width: 0 };
  const right = [r.right + gap, y - size / 2];
  const left = [r.left - gap - size, y - size / 2];
  const above = [x - size / 2, r.top - gap - size];
  const below = [x - size / 2, r.bottom + gap];
  // the label centred on the cursor (no room beside it): the side with more room first
  const shift = r.left + r.width / 2 - x;
  const roomier = window.innerWidth - r.right > r.left ? [right, left] : [left, right];
  const order = Math.abs(shift) < 20 ? roomier : shift > 0 ? [left, right] : [right, left];
  const fits = ([l, t]) => l >= 4 && t >= 4 && l + size <= window.innerWidth - 4 && t + size <= window.innerHeight - 4;
  const [l, t] = [...order, above, below].find(fits) || order[0];
  box.style.left = `${Math.round(Math.min(Math.max(4, l), window.innerWidth - size - 4))}px`;
  box.style.top = `${Math.round(Math.min(Math.max(4, t), window.innerHeight - size - 4))}px`;
}

function hideHoverPicture() {
  const box = document.querySelector(".nnviz-hover-picture");
  if (box) box.remove();
}

// ---- live frames -------------------------------------------------------------------------------

// While training plays, the server streams frames of the boundary chart over a websocket of its own
// (nnviz/ui/live.py): {rev, epoch, epochs, images: [PNG data URI per panel], titles}. Each one that
// belongs to the figure on screen (its rev) and is newer than what is shown is swapped in at the
// next animation frame; frames that arrive meanwhile replace it (the browser never queues them).
function follow(div, stream) {
  div._nnvizStream = stream || null;
  if (!stream) return;
  const url = new URL(stream.path, document.baseURI);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  url.hash = "";
  const open = div._nnvizSocket;
  if (open && open.url === url.href && open.readyState <= WebSocket.OPEN) return;
  if (open) open.close();
  const socket = new WebSocket(url.href);
  div._nnvizSocket = socket;
  socket.onopen = () => {
    socket._nnvizOpen = true;
    // back after a lost connection: to the same session (all is well again), or to a new one, which
    // has started again from the page's URL (the server restarted, or a proxy sent the page elsewhere)
    if (div._nnvizLost) notice(div, div._nnvizLost === socket.url ? "" : RESTARTED);
    div._nnvizLost = null;
  };
  socket.onclose = (event) => {
    if (div._nnvizSocket !== socket) return;
    div._nnvizSocket = null;
    // the server went away while the chart was live, without closing the socket (1006: a crash, a
    // restart, the network): say so, instead of a chart that silently stops
    if (event.code === 1006 && div._nnvizStream && div.isConnected && !div._nnvizLost && socket._nnvizOpen) {
      div._nnvizLost = socket.url;
      notice(div, LOST);
    }
    // dropped while the chart is still live: try again a few times (a new figure also reopens it)
    div._nnvizRetries = (div._nnvizRetries || 0) + 1;
    if (div._nnvizRetries <= 5 && div.isConnected) setTimeout(() => follow(div, div._nnvizStream), 1000);
  };
  socket.onmessage = (event) => {
    div._nnvizRetries = 0;
    div._nnvizFrame = event.data;
    if (div._nnvizFrameQueued) return;
    div._nnvizFrameQueued = true;
    requestAnimationFrame(() => {
      div._nnvizFrameQueued = false;
      applyFrame(div);
    });
  };
}

const LOST = "Lost the connection to the server. Reload the page to start again from its URL.";
const RESTARTED = "The connection to the server was lost; the page started again from its URL.";

// A short note above the chart about its connection ("": none).
function notice(div, text) {
  const old = div.querySelector(".nnviz-chart-notice");
  if (!text) return old && old.remove();
  const note = old || childOf(div, "nnviz-chart-notice", "color:#b00020;font:14px sans-serif;padding:4px 0", true);
  note.setAttribute("role", "status");
  note.textContent = text;
}

function applyFrame(div) {
  const text = div._nnvizFrame;
  div._nnvizFrame = null;
  const stream = div._nnvizStream;
  if (!text || !stream || !div._fullLayout || !window.Plotly) return;
  const frame = JSON.parse(text);
  if (frame.rev !== div._nnvizRev || !(frame.epoch > div._nnvizEpoch)) return;
  const images = frame.images.map((source) => ({ source }));
  if (!swapImages(div, images)) return; // not the drawing it was made for: the next figure redraws
  div._nnvizEpoch = frame.epoch;
  updateTitles(div, frame.titles || []);
  div.dataset.frames = String(Number(div.dataset.frames || 0) + 1);
}

// New panel titles (their validation accuracy). A relayout of an annotation's text recalculates
// the whole figure (~250 ms for 8 panels), so when only the plain text after the title's markup
// changed (the swatch stays), the SVG text is rewritten in place (it is centred by text-anchor) and
// plotly.js's record of it with it; otherwise Plotly.relayout. The record of what is drawn follows,
// so that the next figure with these titles is an image swap again.
function updateTitles(div, titles) {
  const update = {};
  titles.forEach((text, i) => {
    const full = (div._fullLayout.annotations || [])[i];
    if (full && full.text !== text && !rewriteTitle(div, i, full, text)) update[`annotations[${i}].text`] = text;
  });
  if (Object.keys(update).length) window.Plotly.relayout(div, update);
  const figure = div._nnvizFigure;
  const kept = (figure && figure.layout && figure.layout.annotations) || [];
  titles.forEach((text, i) => {
    if (kept[i] && kept[i].text !== text) kept[i].text = text;
  });
  if (figure) div._nnvizRest = withoutImageSources(figure) + JSON.stringify(div._nnvizConfig);
}

function rewriteTitle(div, i, full, text) {
  const cut = (t) => t.lastIndexOf(">") + 1; // markup before, plain text after
  const el = div.querySelector(`.annotation[data-index="${i}"] text.annotation-text`);
  const node = el && el.lastChild;
  if (!node || node.nodeType !== Node.TEXT_NODE || !div.layout.annotations[i]) return false;
  if (full.text.slice(0, cut(full.text)) !== text.slice(0, cut(text))) return false;
  if (node.nodeValue !== full.text.slice(cut(full.text))) return false;
  node.nodeValue = text.slice(cut(text));
  el.setAttribute("data-unformatted", text);
  full.text = text;
  div.layout.annotations[i].text = text;
  return true;
}

// ---- drawing points ----------------------------------------------------------------------------

// Draw points (nnviz/ui/draw.py). While a payload has `draw`, a click on a panel adds a point of the
// picked class there (shift-click: the next class; alt-click: remove the nearest point). Plotly fires
// no plotly_click on an empty place, so the click is read from the plot's own mouse events (Plotly
// dispatches a click after a press that did not drag, so dragging still zooms) and turned into data
// coordinates with that panel's axes. Each edit shows at once (an overlay of its own) and goes to the
// server after DRAW_PAUSE_MS without a click: every edit not yet applied, in one message, numbered per
// canvas, so that a message sent twice changes nothing twice; the payload's `ack` is the last edit
// the server has applied, and the overlay drops those once the figure that has them is drawn.
const DRAW_PAUSE_MS = 700;
const DRAW_RETRY_MS = 6000; // not applied by then (a lost message): send again
const DRAW_REMOVE_PX = 24; // an alt-click removes the nearest point within this many pixels
const DRAW_CLICK_PX = 5; // a press and release farther apart than this is a drag
const SVG_NS = "http://www.w3.org/2000/svg";

function drawPoints(div, draw, setTriggerValue) {
  let state = div._nnvizDrawing;
  if (!draw) {
    if (state) {
      clearTimeout(state.timer);
      state.draw = null;
      state.pending = [];
      drawOverlay(div);
    }
    delete div.dataset.drawing;
    return;
  }
  if (!state) {
    state = div._nnvizDrawing = { canvas: null, next: 1, pending: [], acked: 0, timer: null, last: null };
    div.addEventListener("mousedown", (event) => (state.down = { x: event.clientX, y: event.clientY }), true);
    div.addEventListener("click", (event) => drawClick(div, event), true);
  }
  if (state.canvas !== draw.canvas) {
    clearTimeout(state.timer); // another drawing (a new start, Clear): what was on its way is dropped
    Object.assign(state, { canvas: draw.canvas, next: 1, pending: [] });
  }
  state.next = Math.max(state.next, draw.ack + 1);
  state.acked = draw.ack;
  state.draw = draw;
  state.send = setTriggerValue;
  div.dataset.drawing = "on";
}

// After a figure is drawn: the edits it has are no longer shown by the overlay.
function drawPointsDrawn(div) {
  const state = div._nnvizDrawing;
  if (!state) return;
  state.pending = state.pending.filter((edit) => edit.id > state.acked);
  if (!state.pending.length) clearTimeout(state.timer);
  if (div.on && !div._nnvizDrawHooked) {
    div._nnvizDrawHooked = true;
    div.on("plotly_relayout", () => drawOverlay(div)); // zoom and pan move the marks along
  }
  drawOverlay(div);
}

// The visible panel under a point of the page, and that point in the panel's data coordinates.
function panelAt(div, clientX, clientY) {
  const full = div._fullLayout;
  const svg = div.querySelector(".main-svg");
  if (!full || !svg || !full._plots) return null;
  const box = svg.getBoundingClientRect();
  const px = clientX - box.left;
  const py = clientY - box.top;
  for (const plot of Object.values(full._plots)) {
    const xa = plot.xaxis;
    const ya = plot.yaxis;
    if (!xa || !ya || xa.visible === false || ya.visible === false) continue;
    const u = px - xa._offset;
    const v = py - ya._offset;
    if (u < 0 || v < 0 || u > xa._length || v > ya._length) continue;
    return { x: xa.p2l(u), y: ya.p2l(v), perPixel: Math.abs(xa.p2l(1) - xa.p2l(0)) };
  }
  return null;
}

function drawClick(div, event) {
  const state = div._nnvizDrawing;
  if (!state || !state.draw || event.button !== 0) return;
  const down = state.down; // a drag (a zoom, a pan) ends with a click too: not a point
  if (!down || Math.hypot(event.clientX - down.x, event.clientY - down.y) > DRAW_CLICK_PX) return;
  if (event.target.closest && event.target.closest(".modebar, .legend, .colorbar")) return;
  const hit = panelAt(div, event.clientX, event.clientY);
  if (!hit || !Number.isFinite(hit.x) || !Number.isFinite(hit.y)) return;
  const last = state.last; // Plotly's own click and the browser's, for one press: one point
  const now = performance.now();
  if (last && now - last.t < 40 && last.x === event.clientX && last.y === event.clientY) return;
  state.last = { t: now, x: event.clientX, y: event.clientY };
  const draw = state.draw;
  const edit = { id: state.next++, x: hit.x, y: hit.y };
  if (event.altKey) Object.assign(edit, { op: "remove", r: DRAW_REMOVE_PX * hit.perPixel });
  else Object.assign(edit, { op: "add", c: event.shiftKey ? (draw.cls + 1) % draw.classes : draw.cls });
  state.pending.push(edit);
  drawOverlay(div);
  clearTimeout(state.timer);
  state.timer = setTimeout(() => drawSend(div), DRAW_PAUSE_MS);
}

function drawSend(div) {
  const state = div._nnvizDrawing;
  if (!state) return;
  clearTimeout(state.timer);
  if (!state.draw || !state.send || !state.pending.length || !div.isConnected) return;
  state.send("edits", { canvas: state.canvas, edits: state.pending.map((edit) => ({ ...edit })) });
  div.dataset.drawSent = String(Number(div.dataset.drawSent || 0) + 1);
  state.timer = setTimeout(() => drawSend(div), DRAW_RETRY_MS);
}

// The edits on their way to the server, in every panel (the panels share the data): a dot of the
// new point's class, or a cross where a point is to be removed.
function drawOverlay(div) {
  const state = div._nnvizDrawing;
  const pending = state && state.draw ? state.pending : [];
  div.dataset.drawPending = String(pending.length);
  const container = div.querySelector(".svg-container");
  let layer = div.querySelector(".nnviz-draw-layer");
  if (!pending.length || !container || !div._fullLayout || !div._fullLayout._plots) {
    if (layer) layer.remove();
    return;
  }
  if (!layer || layer.parentNode !== container) {
    if (layer) layer.remove();
    layer = document.createElementNS(SVG_NS, "svg");
    layer.setAttribute("class", "nnviz-draw-layer");
    layer.style.cssText = "position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none";
    container.appendChild(layer);
  }
  const colors = state.draw.colors || [];
  const marks = [];
  for (const plot of Object.values(div._fullLayout._plots)) {
    const xa = plot.xaxis;
    const ya = plot.yaxis;
    if (!xa || !ya || xa.visible === false || ya.visible === false) continue;
    for (const edit of pending) {
      const u = xa.l2p(edit.x);
      const v = ya.l2p(edit.y);
      if (!(u >= 0 && v >= 0 && u <= xa._length && v <= ya._length)) continue;
      const cx = (xa._offset + u).toFixed(1);
      const cy = (ya._offset + v).toFixed(1);
      if (edit.op === "add") {
        const fill = colors[edit.c] || "#222";
        marks.push(`<circle cx="${cx}" cy="${cy}" r="4.5" fill="${fill}" stroke="white" stroke-width="1.2"/>`);
        marks.push(`<circle cx="${cx}" cy="${cy}" r="8" fill="none" stroke="${fill}" stroke-width="1.2" stroke-dasharray="2 2"/>`);
      } else {
        marks.push(`<path d="M${cx} ${cy}m-5 -5l10 10m0 -10l-10 10" stroke="#222" stroke-width="2" stroke-linecap="round"/>`);
      }
    }
  }
  layer.innerHTML = marks.join(""); // numbers and the server's class colours only
}

export default function nnvizChart({ data, parentElement, setTriggerValue }) {
  if (!data) return;
  performance.mark("nnviz:data");
  const spec = decode(data);
  const div = childOf(parentElement, "nnviz-chart", "");
  div.dataset.chart = spec.name;
  if (spec.preview) adoptFirstPaint(div, spec.name);
  // Hold the figure's height while plotly.js loads, so the page does not jump (the picture holds it).
  const height = spec.figure.layout && spec.figure.layout.height;
  if (height && !div.querySelector(".nnviz-preview")) div.style.minHeight = height + "px";
  follow(div, spec.stream);
  drawPoints(div, spec.draw, setTriggerValue);
  const serial = (div._nnvizSerial || 0) + 1;
  div._nnvizSerial = serial;
  const waiting = !window.Plotly;
  // let the page paint before plotly.js is evaluated (a long task)
  const ready = waiting ? new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))) : Promise.resolve();
  ready
    .then(loadPlotly)
    .then((Plotly) => {
      if (div._nnvizSerial !== serial) return null; // a newer update arrived meanwhile: draw that one
      return draw(Plotly, div, spec);
    })
    .then((drawn) => {
      if (!drawn) return;
      drawPointsDrawn(div);
      const note = div.querySelector(".nnviz-chart-error");
      if (note) note.remove();
      // For the browser tests and tests/browser/measure.py: redraws, and when the first one ended.
      div.dataset.draws = String(Number(div.dataset.draws || 0) + 1);
      if (!div.dataset.firstDrawMs) div.dataset.firstDrawMs = String(Math.round(performance.now()));
    })
    .catch((err) => {
      const note = childOf(div, "nnviz-chart-error", "color:#b00020;font:13px sans-serif;padding:4px 0", true);
      note.textContent = "The interactive chart could not be drawn (" + err.message + ")"
        + (div.querySelector(".nnviz-preview") ? "; showing a static picture." : ".");
    });
  return () => {
    if (div.isConnected !== false) return;
    if (div._nnvizSocket) div._nnvizSocket.close();
    if (window.Plotly) window.Plotly.purge(div);
  };
}
