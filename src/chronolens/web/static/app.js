// chronolens serve: the page. Every number shown comes from the JSON API under /api/.
"use strict";

const $ = (sel) => document.querySelector(sel);
const video = $("#player");
const SVG = "http://www.w3.org/2000/svg";
// The moment being played: stop at `end` (seconds on the <video>'s own clock).
const playing = { id: null, end: null, query: null };

function fmt(seconds) { return Number(seconds).toFixed(1); }
function span(start, end) { return `${fmt(start)}–${fmt(end)} s`; }
function basename(path) { return path.split(/[\\/]/).pop(); }

function status(text, isError = false) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function api(path) {
  const response = await fetch(path);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

const videosById = new Map();  // id -> /api/videos entry (playable, playback_note)

async function search(query) {
  status("searching…");
  const started = performance.now();
  let body;
  try {
    body = await api(`/api/search?q=${encodeURIComponent(query)}&top_k=12&moments=3`);
  } catch (err) { status(err.message, true); return; }
  const ms = Math.round(performance.now() - started);
  const results = $("#results");
  results.replaceChildren();
  status(body.results.length ? `${body.results.length} videos in ${ms} ms` : "no results (is the library empty?)");
  for (const hit of body.results) results.append(card(hit, query));
}

function card(hit, query) {
  const node = el("article", { class: "card", "data-id": hit.id });
  const best = hit.moments.length ? hit.moments[0] : [0, 0, 0];
  const img = el("img", { alt: `frame of ${basename(hit.video)}`, loading: "lazy",
    src: `/api/thumbnail/${hit.id}?t=${fmt((best[0] + best[1]) / 2)}` });
  const body = el("div", { class: "body" });
  body.append(el("div", { class: "name" }, basename(hit.video)));
  body.append(el("div", { class: "meta" }, `score ${hit.score.toFixed(3)} · ${fmt(hit.duration)} s`));
  const info = videosById.get(hit.id);
  if (info && !info.playable) body.append(el("p", { class: "note" }, info.playback_note));
  for (const [start, end, score] of hit.moments) {
    const chip = el("button", { class: "chip", type: "button", title: `score ${score.toFixed(3)}`,
      "data-start": start, "data-end": end }, span(start, end));
    chip.addEventListener("click", () => {
      document.querySelectorAll(".chip.active").forEach((c) => c.classList.remove("active"));
      chip.classList.add("active");
      play(hit, start, end, query);
    });
    body.append(chip);
  }
  node.append(img, body);
  return node;
}

function play(hit, start, end, query) {
  const info = videosById.get(hit.id);
  const direct = !info || info.playable;
  $("#player-section").hidden = false;
  $("#player-title").textContent = `${basename(hit.video)} · ${span(start, end)}`;
  const note = $("#player-note");
  note.hidden = direct;
  note.textContent = direct ? "" : `${info.playback_note} (this moment only)`;
  // A transcoded preview holds just the moment, so its clock starts at the moment's start.
  const src = direct ? `/api/media/${hit.id}` : `/api/preview/${hit.id}?start=${start}&end=${end}`;
  const seekTo = direct ? start : 0;
  playing.end = direct ? end : end - start;
  video.dataset.momentStart = String(start);
  video.dataset.momentEnd = String(end);
  const go = () => {
    video.currentTime = seekTo;
    video.play().catch(() => {});
  };
  if (video.getAttribute("src") !== src) {
    video.setAttribute("src", src);
    video.addEventListener("loadedmetadata", go, { once: true });
    video.load();
  } else { go(); }
  const other = playing.id !== hit.id;
  if (other || playing.query !== query) chart(hit.id, query);
  playing.id = hit.id;
  playing.query = query;
  if (other) extras(hit);
}

video.addEventListener("timeupdate", () => {
  if (playing.end !== null && !video.paused && video.currentTime >= playing.end) {
    video.pause();
    playing.end = null;  // the user may play on from here
  }
});
video.addEventListener("seeked", () => { video.dataset.lastSeek = String(video.currentTime); });

async function chart(id, query) {
  const svg = $("#chart");
  svg.replaceChildren();
  let curve, ground;
  try {
    [curve, ground] = await Promise.all([
      api(`/api/curve?video=${id}&q=${encodeURIComponent(query)}`),
      api(`/api/ground?video=${id}&q=${encodeURIComponent(query)}&top_k=5`),
    ]);
  } catch (err) { status(err.message, true); return; }
  draw(curve.times, curve.similarity, ground);
}

async function queryFreeHighlights() {
  if (playing.id === null) return;
  try {
    const result = await api(`/api/highlights?video=${playing.id}&top_k=5`);
    draw(null, null, result);
  } catch (err) { status(err.message, true); }
}

function draw(times, similarity, result) {
  const svg = $("#chart");
  svg.replaceChildren();
  const W = 800, H = 180, pad = 14, duration = Math.max(result.duration, 1e-6);
  const x = (t) => (t / duration) * W;
  const y = (v, lo, hi) => H - pad - ((v - lo) / Math.max(hi - lo, 1e-6)) * (H - 2 * pad);
  for (const [start, end] of result.windows) {
    svg.append(svgEl("rect", { class: "win", x: x(start), y: 0, width: Math.max(x(end) - x(start), 1), height: H }));
  }
  result.saliency.forEach((value, i) => {
    const h = Math.max(0, Math.min(1, value)) * (H - 2 * pad);
    const x0 = x(i * result.clip_length), x1 = x(Math.min((i + 1) * result.clip_length, duration));
    svg.append(svgEl("rect", { class: "bar", x: x0 + 0.5, y: H - pad - h, width: Math.max(x1 - x0 - 1, 0.5), height: h }));
  });
  if (times && times.length) {
    const lo = Math.min(...similarity), hi = Math.max(...similarity);
    const points = times.map((t, i) => `${x(t).toFixed(1)},${y(similarity[i], lo, hi).toFixed(1)}`).join(" ");
    svg.append(svgEl("polyline", { class: "line", points }));
    svg.append(svgEl("text", { x: 4, y: 11 }, `max ${hi.toFixed(3)}`));
    svg.append(svgEl("text", { x: 4, y: H - 3 }, `min ${lo.toFixed(3)}`));
  }
  svg.append(svgEl("text", { x: W - 60, y: H - 3 }, `${fmt(duration)} s`));
  const head = svgEl("line", { class: "head", id: "playhead", x1: 0, x2: 0, y1: 0, y2: H });
  svg.append(head);
  $("#windows").textContent = result.windows.map(([s, e]) => span(s, e)).join("  ·  ");
}

function svgEl(tag, attrs, text = "") {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

video.addEventListener("timeupdate", () => {
  const head = document.getElementById("playhead");
  const start = Number(video.dataset.momentStart || 0);
  const info = videosById.get(playing.id);
  const t = info && !info.playable ? start + video.currentTime : video.currentTime;
  if (head && video.duration) {
    const duration = info ? info.duration : video.duration;
    head.setAttribute("x1", (t / duration) * 800);
    head.setAttribute("x2", (t / duration) * 800);
  }
});

async function extras(hit) {
  const id = hit.id;
  try {
    const body = await api(`/api/video/${id}`);
    const shots = body.shots;
    $("#shots").textContent = shots && shots.shots
      ? shots.shots.map((s) => span(s[0], s[1])).join("  ·  ") : "—";
    const strip = $("#keyframes");
    strip.replaceChildren();
    for (const t of body.keyframes || []) {
      const img = el("img", { class: "keyframe", loading: "lazy", alt: `keyframe at ${fmt(t)} s`,
        title: fmt(t), src: `/api/thumbnail/${id}?t=${fmt(t)}` });
      // A keyframe plays the 4 s from it, as a moment chip does.
      img.addEventListener("click", () => play(hit, t, Math.min(t + 4, body.video.duration), playing.query));
      strip.append(img);
    }
    if (!strip.children.length) strip.textContent = "—";
    $("#transcript").textContent = body.transcript ? JSON.stringify(body.transcript) : "—";
  } catch (err) { /* the room stays empty */ }
}

async function library() {
  try {
    const [info, listing] = await Promise.all([api("/api/info"), api("/api/videos")]);
    const dl = $("#manifest");
    dl.replaceChildren();
    const facts = [
      ["encoder", `${info.encoder} (dim ${info.dim})`],
      ["sampling", `${info.sampling}, decoded at ${info.decode_size} px`],
      ["videos", `${info.n_indexed} indexed, ${info.n_failed} failed, ${info.n_missing} missing`],
      ["frames", `${info.n_frames} (${(info.total_duration / 3600).toFixed(2)} h)`],
      ["search", info.search_mode],
      ["built by", `chronolens ${info.chronolens_version}, PyAV ${info.pyav_version}`],
    ];
    for (const [key, value] of facts) dl.append(el("dt", {}, key), el("dd", {}, value));
    const tbody = $("#videos tbody");
    tbody.replaceChildren();
    for (const v of listing.videos) {
      videosById.set(v.id, v);
      const row = el("tr", { class: v.status });
      const notes = v.error || v.warning || v.playback_note || "";
      for (const text of [basename(v.path), `${fmt(v.duration)} s`, v.status, v.codec, notes]) {
        row.append(el("td", {}, text));
      }
      row.firstChild.title = v.path;
      tbody.append(row);
    }
  } catch (err) { status(err.message, true); }
}

$("#search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = $("#query").value.trim();
  if (query) search(query);
});
$("#highlights-button").addEventListener("click", queryFreeHighlights);
library();
