// nnviz's Plotly charts (a Streamlit components-v2 component, see charts.py).
//
// Streamlit calls the default export on every script or fragment run that sends this chart new
// data. The chart div is made once per element and redrawn in place with Plotly.react, which
// diffs the figure against the one on screen: no remount, and the user's zoom, pan and legend
// clicks survive live updates (layout.uirevision).
//
// plotly.js is loaded once per page from the app's static folder (server.enableStaticServing).

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
        loading = null; // let a later update try again
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

// The figure without its layout images' pixels: when only those changed since the last draw, the
// update is an image swap (Plotly.relayout on images[k].source, ~25 ms for 8 panels in headless
// Chromium) instead of a full redraw of every trace (~250 ms with 8 x 400 points).
function withoutImageSources(figure) {
  const images = (figure.layout && figure.layout.images) || [];
  const layout = { ...figure.layout, images: images.map((im) => ({ ...im, source: null })) };
  return JSON.stringify({ ...figure, layout });
}

function draw(Plotly, div, spec) {
  const figure = spec.figure;
  const rest = withoutImageSources(figure) + JSON.stringify(spec.config);
  const images = (figure.layout && figure.layout.images) || [];
  if (div._nnvizRest === rest && div._fullLayout) {
    const old = div.layout.images || [];
    const update = {};
    images.forEach((im, k) => {
      if (!old[k] || old[k].source !== im.source) update[`images[${k}].source`] = im.source;
    });
    return Object.keys(update).length ? Plotly.relayout(div, update) : Promise.resolve(div);
  }
  return Plotly.react(div, { ...figure, config: spec.config }).then((gd) => {
    div._nnvizRest = rest;
    return gd;
  });
}

export default function nnvizChart({ data, parentElement }) {
  if (!data) return;
  performance.mark("nnviz:data");
  const spec = decode(data);
  let div = parentElement.querySelector(".nnviz-chart");
  if (!div) {
    div = document.createElement("div");
    div.className = "nnviz-chart";
    div.dataset.chart = spec.name;
    parentElement.appendChild(div);
  }
  // Hold the figure's height while plotly.js loads, so the page does not jump.
  if (spec.figure.layout && spec.figure.layout.height) div.style.minHeight = spec.figure.layout.height + "px";
  const serial = (div._nnvizSerial || 0) + 1;
  div._nnvizSerial = serial;
  loadPlotly()
    .then((Plotly) => {
      if (div._nnvizSerial !== serial) return null; // a newer update arrived meanwhile: draw that one
      return draw(Plotly, div, spec);
    })
    .then((drawn) => {
      if (!drawn) return;
      // For the browser tests and tests/browser/measure.py: redraws, and when the first one ended.
      div.dataset.draws = String(Number(div.dataset.draws || 0) + 1);
      if (!div.dataset.firstDrawMs) div.dataset.firstDrawMs = String(Math.round(performance.now()));
    })
    .catch((err) => {
      div.textContent = "The chart could not be drawn: " + err.message;
      div.className = "nnviz-chart nnviz-chart-error";
    });
  return () => {
    if (window.Plotly && div.isConnected === false) window.Plotly.purge(div);
  };
}
