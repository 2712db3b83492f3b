// mirlearn explorer: a map of the tracks, their neighbours, their audio. No external script.
// Served: data from /api/data, neighbours from /api/neighbors, audio from /audio/<row>.
// Exported (static): window.EXPLORER_STATIC holds {data, neighbors, audio} instead.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const STATIC = window.EXPLORER_STATIC || null;
const state = { data: null, circles: [], selected: null };

function color(i, n) {
  // evenly spaced hues, alternating lightness so that neighbouring labels differ
  const h = Math.round((360 * i) / Math.max(n, 1));
  return `hsl(${h}, 65%, ${i % 2 ? 38 : 52}%)`;
}

async function fetchJSON(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

async function neighborsOf(i) {
  if (STATIC) return STATIC.neighbors[i];
  return (await fetchJSON(`/api/neighbors?i=${i}&k=${state.data.k}`)).neighbors;
}

function audioUrl(i) {
  return STATIC ? STATIC.audio[i] : `/audio/${i}`;
}

function showTooltip(evt, t) {
  const tip = document.getElementById("tooltip");
  const panel = document.getElementById("map-panel").getBoundingClientRect();
  tip.textContent = `${t.name} (${t.label})`;
  tip.style.left = `${evt.clientX - panel.left + 12}px`;
  tip.style.top = `${evt.clientY - panel.top + 12}px`;
  tip.hidden = false;
}

function drawMap() {
  const svg = document.getElementById("map");
  const { tracks, labels } = state.data;
  const colors = Object.fromEntries(labels.map((l, i) => [l, color(i, labels.length)]));
  const r = tracks.length > 2000 ? 4 : tracks.length > 500 ? 6 : 9;
  for (const t of tracks) {
    const c = document.createElementNS(SVGNS, "circle");
    c.setAttribute("cx", (30 + 940 * t.x).toFixed(1));
    c.setAttribute("cy", (30 + 940 * (1 - t.y)).toFixed(1));
    c.setAttribute("r", r);
    c.setAttribute("fill", colors[t.label]);
    c.dataset.i = t.i;
    c.dataset.label = t.label;
    c.addEventListener("mousemove", (e) => showTooltip(e, t));
    c.addEventListener("mouseleave", () => { document.getElementById("tooltip").hidden = true; });
    c.addEventListener("click", () => select(t.i, true));
    svg.appendChild(c);
    state.circles[t.i] = c;
  }
  const legend = document.getElementById("legend");
  for (const l of labels) {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = colors[l];
    li.append(sw, document.createTextNode(l));
    legend.appendChild(li);
  }
  const d = state.data;
  document.getElementById("map-note").textContent =
    `${tracks.length} tracks, ${d.map} map of the vectors the index compares; ` +
    (d.learned_distance ? "learned (siamese) distance" : `${d.metric} distance`) + ". Click a point to play it.";
}

function playButton(i) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = "▶";
  b.title = "play";
  b.addEventListener("click", (e) => { e.stopPropagation(); play(i); });
  return b;
}

function play(i) {
  const player = document.getElementById("player");
  player.src = audioUrl(i);
  const p = player.play();
  if (p && p.catch) p.catch(() => {});  // autoplay may be refused; the controls stay
}

async function select(i, autoplay) {
  const t = state.data.tracks[i];
  state.selected = i;
  for (const c of state.circles) c.classList.remove("selected", "neighbor");
  state.circles[i].classList.add("selected");
  document.getElementById("selected").hidden = false;
  document.getElementById("sel-name").textContent = t.name;
  document.getElementById("sel-label").textContent =
    `label ${t.label}` + (t.artist ? `, artist ${t.artist}` : "") + ` (id ${t.id})`;
  if (autoplay) play(i);
  const list = document.getElementById("neighbors");
  list.replaceChildren();
  const hits = await neighborsOf(i);
  if (state.selected !== i) return;  // another click came first
  for (const h of hits) {
    const n = state.data.tracks[h.i];
    state.circles[h.i].classList.add("neighbor");
    const li = document.createElement("li");
    li.dataset.i = h.i;
    const name = document.createElement("a");
    name.href = "#";
    name.textContent = n.name;
    name.addEventListener("click", (e) => { e.preventDefault(); select(h.i, true); });
    const dist = document.createElement("span");
    dist.className = "dist";
    dist.textContent = `${n.label} · ${h.distance.toFixed(4)}`;
    li.append(playButton(h.i), name, dist);
    list.appendChild(li);
  }
}

function fillPrecision() {
  const p = state.data.precision;
  document.getElementById("precision-title").textContent = `Precision at ${p.k} (same label relevant)`;
  const body = document.querySelector("#precision tbody");
  const row = (label, v) => {
    const tr = document.createElement("tr");
    const cells = [label, v.n, (100 * v.precision).toFixed(1), v.map == null ? "—" : (100 * v.map).toFixed(1)];
    for (const c of cells) {
      const td = document.createElement("td");
      td.textContent = c;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  };
  for (const [label, v] of Object.entries(p.per_label)) row(label, v);
  row("all", p.all);
}

function setupSearch() {
  const box = document.getElementById("search");
  const out = document.getElementById("matches");
  box.addEventListener("input", () => {
    out.replaceChildren();
    const q = box.value.trim().toLowerCase();
    for (const c of state.circles) c.classList.remove("dim");
    if (!q) return;
    const hits = state.data.tracks.filter((t) => t.name.toLowerCase().includes(q) || t.id.toLowerCase().includes(q));
    const shown = new Set(hits.map((t) => t.i));
    for (const c of state.circles) if (!shown.has(Number(c.dataset.i))) c.classList.add("dim");
    for (const t of hits.slice(0, 50)) {
      const li = document.createElement("li");
      li.textContent = `${t.name} (${t.label})`;
      li.dataset.i = t.i;
      li.addEventListener("click", () => { out.replaceChildren(); select(t.i, false); });
      out.appendChild(li);
    }
  });
}

async function main() {
  state.data = STATIC ? STATIC.data : await fetchJSON("/api/data");
  document.getElementById("title").textContent = state.data.title;
  document.title = state.data.title;
  drawMap();
  fillPrecision();
  setupSearch();
  document.body.dataset.ready = "1";
}

main().catch((e) => {
  document.getElementById("map-note").textContent = `could not load the explorer: ${e.message}`;
  document.body.dataset.ready = "error";
});
