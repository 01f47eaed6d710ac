// nnviz's Plotly charts (a Streamlit components-v2 component, see charts.py).
//
// Streamlit calls the default export on every script or fragment run that sends this chart new
// data. The chart div is made once per element and redrawn in place with Plotly.react, which
// diffs the figure against the one on screen: no remount, and the user's zoom, pan and legend
// clicks survive live updates (layout.uirevision).
//
// plotly.js is loaded once per page from the app's static folder (server.enableStaticServing).
// Evaluating its 4.8 MB takes ~0.8 s of main thread in headless Chromium on a small machine, so a
// chart that arrives before it is first shown as a static preview (its layout images, points and
// titles, drawn without plotly.js), which the interactive chart replaces as soon as it can.

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

// ---- the static preview ----------------------------------------------------------------------

const TYPED = { f4: Float32Array, f8: Float64Array, u1: Uint8Array, i1: Int8Array, u2: Uint16Array,
  i2: Int16Array, u4: Uint32Array, i4: Int32Array };

function values(a) {
  // plotly.py sends numpy arrays as {dtype, bdata (base64)}; plain lists stay lists
  if (!a || Array.isArray(a) || !a.bdata) return a || [];
  const bin = atob(a.bdata);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new (TYPED[a.dtype] || Float64Array)(bytes.buffer);
}

function axisName(ref, letter) {
  return letter + "axis" + (ref && ref.length > 1 ? ref.slice(1) : "");
}

// The figure's margins in px (plotly.js's defaults where it sets none).
function margins(layout) {
  return { l: 80, r: 80, t: 100, b: 80, ...(layout.margin || {}) };
}

// Each panel's plot area in px, as plotly will lay it out: the axes' domains within the margins,
// shrunk to equal aspect (scaleanchor) around their centre.
function panelBox(layout, xref, yref, width) {
  const m = margins(layout);
  const W = width - m.l - m.r;
  const H = layout.height - m.t - m.b;
  const xa = layout[axisName(xref, "x")] || {};
  const ya = layout[axisName(yref, "y")] || {};
  const [x0, x1] = xa.domain || [0, 1];
  const [y0, y1] = ya.domain || [0, 1];
  let w = (x1 - x0) * W;
  let h = (y1 - y0) * H;
  const xr = xa.range || [0, 1];
  const yr = ya.range || [0, 1];
  const equal = Object.keys(layout).some((k) => k.startsWith("yaxis") && layout[k].scaleanchor);
  let left = m.l + x0 * W;
  let top = m.t + (1 - y1) * H;
  if (equal) {
    const ppu = Math.min(w / (xr[1] - xr[0]), h / (yr[1] - yr[0]));
    const pw = ppu * (xr[1] - xr[0]);
    const ph = ppu * (yr[1] - yr[0]);
    left += (w - pw) / 2;
    top += (h - ph) / 2;
    w = pw;
    h = ph;
  }
  return { left, top, w, h, xr, yr };
}

function stepColour(marker, v) {
  if (typeof marker.color === "string") return marker.color;
  const scale = marker.colorscale || [];
  const t = (v - (marker.cmin ?? 0)) / ((marker.cmax ?? 1) - (marker.cmin ?? 0));
  for (let i = 0; i < scale.length; i += 1) if (t <= scale[i][0]) return scale[i][1];
  return scale.length ? scale[scale.length - 1][1] : "#444";
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

function drawPreview(div, figure) {
  const layout = figure.layout || {};
  const width = div.clientWidth || 800;
  const css = "position:relative;overflow:hidden;font:13px 'Source Sans',sans-serif;color:#222";
  const box = childOf(div, "nnviz-preview", css);
  box.replaceChildren();
  box.style.height = layout.height + "px";
  for (const im of layout.images || []) {
    const p = panelBox(layout, im.xref, im.yref, width);
    const img = document.createElement("img");
    img.src = im.source;
    img.style.cssText = `position:absolute;left:${p.left}px;top:${p.top}px;width:${p.w}px;height:${p.h}px`;
    box.appendChild(img);
  }
  const canvas = document.createElement("canvas");
  const dpr = window.devicePixelRatio || 1;
  canvas.width = width * dpr;
  canvas.height = layout.height * dpr;
  canvas.style.cssText = `position:absolute;left:0;top:0;width:${width}px;height:${layout.height}px`;
  box.appendChild(canvas);
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  for (const t of figure.data || []) {
    if (t.type !== "scatter" || !t.x || t.visible === false) continue;
    const xs = values(t.x);
    const ys = values(t.y);
    if (!xs.length || xs[0] === null) continue;
    const marker = t.marker || {};
    const colours = values(marker.color);
    const p = panelBox(layout, t.xaxis, t.yaxis, width);
    const size = marker.size || 6;
    const symbol = marker.symbol || "circle";
    for (let i = 0; i < xs.length; i += 1) {
      const px = p.left + ((xs[i] - p.xr[0]) / (p.xr[1] - p.xr[0])) * p.w;
      const py = p.top + (1 - (ys[i] - p.yr[0]) / (p.yr[1] - p.yr[0])) * p.h;
      ctx.beginPath();
      if (symbol === "triangle-up") {
        ctx.moveTo(px, py - size / 2);
        ctx.lineTo(px + size / 2, py + size / 2.6);
        ctx.lineTo(px - size / 2, py + size / 2.6);
        ctx.closePath();
      } else {
        ctx.arc(px, py, size / 2, 0, 2 * Math.PI);
      }
      if (symbol.endsWith("-open")) {
        ctx.strokeStyle = marker.color;
        ctx.lineWidth = (marker.line && marker.line.width) || 1;
        ctx.stroke();
      } else {
        ctx.fillStyle = stepColour(marker, colours[i]);
        ctx.fill();
        ctx.strokeStyle = "white";
        ctx.lineWidth = 1;
        ctx.stroke();
      }
    }
  }
  for (const a of layout.annotations || []) {
    if (a.xref !== "paper" || a.yref !== "paper" || !a.text) continue;
    const m = margins(layout);
    const label = document.createElement("div");
    const swatch = /color:\s*(#[0-9A-Fa-f]{6})[^>]*>■/.exec(a.text); // the run's colour, if any
    if (swatch) {
      const mark = document.createElement("span");
      mark.textContent = "■ ";
      mark.style.color = swatch[1];
      label.appendChild(mark);
    }
    label.appendChild(document.createTextNode(a.text.replace(/<[^>]+>/g, "").replace("■", "").trim()));
    const x = m.l + a.x * (width - m.l - m.r);
    const y = m.t + (1 - a.y) * (layout.height - m.t - m.b);
    label.style.cssText = `position:absolute;left:${x}px;top:${y}px;transform:translate(-50%,-100%);white-space:nowrap`;
    box.appendChild(label);
  }
  if (!div.dataset.firstPreviewMs) div.dataset.firstPreviewMs = String(Math.round(performance.now()));
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
  if (preview) preview.remove();
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
  socket.onclose = () => {
    if (div._nnvizSocket !== socket) return;
    div._nnvizSocket = null;
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
  // Hold the figure's height while plotly.js loads, so the page does not jump.
  if (spec.figure.layout && spec.figure.layout.height) div.style.minHeight = spec.figure.layout.height + "px";
  follow(div, spec.stream);
  const serial = (div._nnvizSerial || 0) + 1;
  div._nnvizSerial = serial;
  const waiting = !window.Plotly;
  if (waiting && !div._fullLayout && spec.preview) drawPreview(div, spec.figure);
  // let the preview paint before plotly.js is evaluated (a long task)
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
