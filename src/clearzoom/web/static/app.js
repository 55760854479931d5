// clearzoom web page: upload -> analysis -> upscale job (progress, compare, download) -> deep zoom.
"use strict";
const $ = (id) => document.getElementById(id);
let current = null;   // image info from the API
let job = null;       // current job
let viewer = null;

function status(msg, isError) {
  $("status").textContent = msg;
  $("status").className = isError ? "error" : "";
}

async function api(method, url, body) {
  const opts = { method };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) { opts.body = JSON.stringify(body); opts.headers = { "Content-Type": "application/json" }; }
  const r = await fetch(url, opts);
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error((data && data.error) || r.statusText);
  return data;
}

async function upload(file) {
  status("Uploading " + file.name + " …");
  const fd = new FormData();
  fd.append("file", file);
  try { show(await api("POST", "/api/images", fd)); } catch (e) { status(e.message, true); }
}

function row(k, v) { return "<tr><td>" + k + "</td><td>" + v + "</td></tr>"; }
function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }

function show(info) {
  current = info;
  const a = info.analysis;
  status("Loaded " + info.name + " (" + info.width + "×" + info.height + ").");
  $("task").textContent = a.task_x4;
  let rows = row("format", esc(a.format)) + row("size", info.width + "×" + info.height) + row("mode", esc(a.mode) + ", " + a.bit_depth + "-bit");
  rows += a.jpeg ? row("JPEG quality", "≈ " + a.jpeg.quality + " (" + esc(a.jpeg.subsampling) + ", tables " + esc(a.jpeg.tables_match) + ")") : row("JPEG quality", "not a JPEG");
  rows += row("blockiness", a.blockiness === null ? "–" : a.blockiness) + row("noise σ", a.noise) + row("model", esc(info.model));
  $("facts").innerHTML = rows;
  $("width").value = info.width * 4; $("height").value = info.height * 4;
  $("analysis").hidden = false; $("run").hidden = false; $("compare").hidden = true;
  $("coding").hidden = false; $("czp-layers").innerHTML = ""; $("czp-view").hidden = true; $("czp-download").hidden = true;
  openViewer(info);
}

function openViewer(info) {
  $("zoom").hidden = false;
  $("zoom-max").textContent = info.deepzoom.zoom;
  if (typeof OpenSeadragon === "undefined") {
    $("viewer-note").textContent = "The deep-zoom viewer (OpenSeadragon) is not installed: run scripts/setup.sh. Tiles are still served at " + info.deepzoom.dzi;
    return;
  }
  if (viewer) viewer.destroy();
  viewer = OpenSeadragon({
    id: "viewer", prefixUrl: "/vendor/openseadragon/images/", tileSources: info.deepzoom.dzi,
    showNavigator: true, maxZoomPixelRatio: 1.0, visibilityRatio: 0.5, crossOriginPolicy: false,
    // the server renders a few tiles at a time and answers 503 when its queue is full: ask for a
    // few at once (visible ones first) and retry the refused ones
    imageLoaderLimit: 6, tileRetryMax: 8, tileRetryDelay: 2000, timeout: 120000,
  });
  window.clearzoomViewer = viewer;
  $("viewer-note").textContent = "Levels above the input's own resolution (level " + info.deepzoom.first_model_level + " and up) are rendered by the model on demand.";
}

// A request in words (GET /api/prompt): its size fills the form; its tasks are shown.
async function readPrompt() {
  const text = $("prompt").value.trim();
  if (!text) return;
  try {
    const p = await api("GET", "/api/prompt?text=" + encodeURIComponent(text));
    const pick = (mode) => { document.querySelector("input[name=mode][value=" + mode + "]").checked = true; };
    if (p.scale !== null) { pick("scale"); $("scale").value = p.scale; }
    else if (p.size !== null) { pick("size"); $("width").value = p.size[0]; $("height").value = p.size[1]; }
    else if ((p.width !== null || p.height !== null) && current) {
      const k = p.width !== null ? p.width / current.width : p.height / current.height;
      pick("size");
      $("width").value = p.width !== null ? p.width : Math.round(current.width * k);
      $("height").value = p.height !== null ? p.height : Math.round(current.height * k);
    }
    const tasks = Object.entries(p.tasks).map(([t, s]) => t + (s < 1 ? " (" + s + ")" : "") + ": " + (p.matched[t] || []).join(", "));
    let note = "Tasks: " + (tasks.join("; ") || (p.auto ? "left to the analysis" : "none"));
    if (p.refused.length) note += "; refused: " + p.refused.join(", ");
    if (Object.keys(p.tasks).some((t) => t !== "jpeg")) note += ". The bundled model restores JPEG artifacts only.";
    $("prompt-note").textContent = note;
    $("prompt-note").className = "";
  } catch (e) {
    $("prompt-note").textContent = e.message; $("prompt-note").className = "error";
  }
}

async function runJob(ev) {
  ev.preventDefault();
  if (!current) return;
  const mode = document.querySelector("input[name=mode]:checked").value;
  const body = { format: $("format").value, tta: $("tta").checked, strip_metadata: $("strip").checked };
  if (mode === "scale") body.scale = parseFloat($("scale").value);
  else { body.width = parseInt($("width").value, 10); body.height = parseInt($("height").value, 10); }
  $("go").disabled = true; $("cancel").hidden = false;
  $("progress").hidden = false; $("progress").value = 0; $("job-status").textContent = "Queued …";
  try {
    job = await api("POST", "/api/images/" + current.id + "/jobs", body);
    await poll(job.id);
  } catch (e) {
    $("job-status").textContent = e.message; $("job-status").className = "error";
  } finally { $("go").disabled = false; $("cancel").hidden = true; }
}

async function poll(id) {
  for (;;) {
    const j = await api("GET", "/api/jobs/" + id);
    $("progress").value = j.progress;
    $("job-status").className = "";
    $("job-status").textContent = j.state + " " + Math.round(j.progress * 100) + "% — " + j.params.width + "×" + j.params.height;
    if (j.state === "done") return finish(j);
    if (j.state === "error" || j.state === "cancelled") throw new Error("job " + j.state + (j.error ? ": " + j.error : ""));
    await new Promise((r) => setTimeout(r, 300));
  }
}

function finish(j) {
  $("job-status").textContent = "Done in " + j.seconds + " s: " + j.params.width + "×" + j.params.height;
  $("after").src = j.result_url;
  $("before").src = "/api/images/" + current.id + "/input.png";  // stretched by the browser
  $("download").href = j.result_url; $("download").setAttribute("download", j.filename);
  $("compare").hidden = false;
}

// Semantic coding: encode, then decode one more layer at a time, as a progressive download would.
async function encodeCzp(ev) {
  ev.preventDefault();
  const id = current.id;
  const body = { budget: $("czp-budget").value.trim() || null, prompt: $("czp-prompt").value.trim() || null };
  $("czp-status").textContent = "Encoding …"; $("czp-status").className = "";
  $("czp-layers").innerHTML = ""; $("czp-download").hidden = true;
  let res;
  try { res = await api("POST", "/api/images/" + id + "/czp", body); }
  catch (e) { $("czp-status").textContent = e.message; $("czp-status").className = "error"; return; }
  $("czp-status").textContent = res.bytes.toLocaleString() + " bytes, " + res.layers.length + " layers; receiving them one by one:";
  $("czp-download").href = res.download; $("czp-download").hidden = false;
  for (let k = 1; k <= res.layers.length; k++) {
    const L = res.layers[k - 1];
    const li = document.createElement("li");
    li.textContent = L.kind + (L.label ? " '" + L.label + "' (rank " + L.rank + ")" : "") + ": " + L.codec + " q" + L.quality + ", " + L.length.toLocaleString() + " bytes …";
    $("czp-layers").appendChild(li);
    const r = await fetch("/api/images/" + id + "/czp/layers/" + k + ".png");
    if (!r.ok) { li.textContent += " failed"; break; }
    const url = URL.createObjectURL(await r.blob());
    $("czp-view").onload = () => URL.revokeObjectURL(url);
    $("czp-view").src = url; $("czp-view").hidden = false;
    li.textContent = li.textContent.replace(" …", " ✓");
  }
}

$("czp-form").addEventListener("submit", encodeCzp);
$("slider").addEventListener("input", () => {
  $("before").style.clipPath = "inset(0 " + (100 - $("slider").value) + "% 0 0)";
});
$("cancel").addEventListener("click", async () => { if (job) await api("DELETE", "/api/jobs/" + job.id); });
$("job-form").addEventListener("submit", runJob);
$("read").addEventListener("click", readPrompt);
$("prompt").addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); readPrompt(); } });
$("file").addEventListener("change", () => { if ($("file").files[0]) upload($("file").files[0]); });
$("example").addEventListener("click", async () => {
  status("Loading the example …");
  try { show(await api("POST", "/api/images/example")); } catch (e) { status(e.message, true); }
});
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault(); drop.classList.remove("over");
  if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0]);
});
