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
  return Plotly.react(div, { ...figure, config: spec.config }).then((gd) => {
    div._nnvizRest = rest;
    return gd;
  });
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

export default function nnvizChart({ data, parentElement }) {
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
