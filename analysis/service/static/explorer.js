// hubtree explorer: fills the server's page shells from the JSON API.
// Every piece of store text (ids, licences, reasons) goes into the page as a text node, never as markup.
"use strict";

const RELATIONS = ["finetune", "adapter", "quantized", "merge"];
const CHILDREN_PAGE = 50;

// ------------------------------------------------------------------------------------------- helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function idPath(id) {
  return id.split("/").map(encodeURIComponent).join("/");
}

function modelHref(id) {
  return "/models/" + idPath(id);
}

function modelLink(id, cls) {
  return el("a", { href: modelHref(id), class: "model-link" + (cls ? " " + cls : "") }, id);
}

async function api(path) {
  const answer = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await answer.json().catch(() => ({ detail: answer.statusText }));
  if (!answer.ok) {
    const error = new Error(body.detail || answer.statusText);
    error.status = answer.status;
    error.suggestions = body.suggestions || [];
    throw error;
  }
  return body;
}

function number(value) {
  return value === null || value === undefined ? "–" : Number(value).toLocaleString("en");
}

function relationBadge(relation, inferred) {
  return el("span", { class: "rel rel-" + (RELATIONS.includes(relation) ? relation : "other") + (inferred ? " inferred" : ""),
                      title: inferred ? "inferred edge" : "declared edge" },
            relation + (inferred ? " (inferred)" : ""));
}

// How the badge on an edge names its drift classification (inherited edges show the licence alone).
const DRIFT_LABELS = { violation: "violation", missing: "licence dropped", compatible: "compatible", unknown: "unclear" };

function licenceBadge(licence, edge) {
  const kind = edge ? edge.kind : null;
  const drift = kind && kind !== "inherited";
  const title = edge ? kind + ": " + edge.reason : "licence";
  return el("span", { class: "lic" + (drift ? " drift-" + kind : ""), title },
    licence || "missing", drift ? " · " + (DRIFT_LABELS[kind] || kind) : "");
}

function showError(box, error) {
  box.hidden = false;
  box.replaceChildren(el("p", {}, error.message));
  if (error.suggestions && error.suggestions.length) {
    box.append(el("p", {}, "Did you mean: "), el("ul", { class: "plain" },
      error.suggestions.map((s) => el("li", {}, modelLink(s)))));
  }
}

// ------------------------------------------------------------------------------------------- search box

function setupSearch() {
  const box = document.getElementById("search-box");
  const list = document.getElementById("search-results");
  const form = document.getElementById("search-form");
  if (!box || !list) return;
  let timer = null;
  let latest = 0;
  let first = null;

  async function run() {
    const q = box.value.trim();
    const ticket = ++latest;
    if (!q) {
      list.hidden = true;
      list.replaceChildren();
      return;
    }
    let answer;
    try {
      answer = await api("/api/search?limit=10&q=" + encodeURIComponent(q));
    } catch (error) {
      answer = { models: [], suggestions: [], error: error.message };
    }
    if (ticket !== latest) return;
    const items = answer.models.map((m) => el("li", { role: "option" },
      modelLink(m.id), " ", el("span", { class: "muted" }, m.hubs.join("+") + " · " + number(m.downloads) + " downloads")));
    if (!items.length && answer.suggestions.length) {
      items.push(el("li", { class: "muted" }, "No id contains that; close matches:"));
      answer.suggestions.forEach((s) => items.push(el("li", { role: "option" }, modelLink(s))));
    }
    if (!items.length) items.push(el("li", { class: "muted" }, answer.error || "No model found"));
    first = answer.models.length ? answer.models[0].id : answer.suggestions[0] || null;
    list.replaceChildren(...items);
    list.hidden = false;
  }

  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 120);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    await run();
    if (first) window.location.assign(modelHref(first));
  });
  document.addEventListener("click", (event) => {
    if (!form.contains(event.target)) list.hidden = true;
  });
  if (box.value) run();
}

// ------------------------------------------------------------------------------------------- model page

function fact(dl, label, ...value) {
  dl.append(el("dt", {}, label), el("dd", {}, ...value));
}

function renderFacts(m) {
  const r = m.record || {};
  const dl = document.getElementById("facts");
  fact(dl, "author", r.author || "–");
  fact(dl, "created", (r.created_at || "–").slice(0, 10));
  fact(dl, "downloads (30 days)", number(m.downloads));
  fact(dl, "likes", number(r.likes));
  fact(dl, "generation", m.generation || "unknown");
  fact(dl, "depth below root", String(m.depth));
  fact(dl, "roots", ...m.family.roots.flatMap((id, i) => (i ? [", ", modelLink(id)] : [modelLink(id)])));
  fact(dl, "architecture", r.architecture || "–");
  fact(dl, "pipeline", r.pipeline_tag || "–");
  fact(dl, "library", r.library_name || "–");
  fact(dl, "direct children", RELATIONS.filter((k) => m.counts[k]).map((k) => k + " " + number(m.counts[k])).join(" · ") || "none");
}

function renderLinks(m) {
  const p = document.getElementById("model-hubs");
  for (const [hub, url] of Object.entries(m.links)) {
    p.append(el("a", { href: url, class: "hub-link", rel: "noopener noreferrer" },
      hub === "hf" ? "on Hugging Face" : "on ModelScope"), " ");
  }
}

function renderLicence(m) {
  const box = document.getElementById("licence");
  const lic = m.licence;
  box.append(el("p", {}, el("strong", {}, lic ? lic.license : "missing"),
    lic ? el("span", { class: "muted" }, " (" + lic.license_class + "; from " + lic.license_source + ")") : ""));
  if (m.edges.length) {
    box.append(el("h3", {}, "Along each declared edge"), el("ul", { class: "plain" }, m.edges.map((e) =>
      el("li", {}, e.parent ? modelLink(e.parent) : el("span", {}, e.parent_raw + " (unresolved)"), " ",
        relationBadge(e.relation, false), " ", el("span", { class: "lic" }, e.parent_license), " → ",
        licenceBadge(e.child_license, e), el("div", { class: "reason muted" }, e.reason)))));
  }
  if (m.findings.length) {
    box.append(el("h3", {}, "Findings"), el("ul", { class: "findings" }, m.findings.map((f) =>
      el("li", { class: "finding drift-" + f.kind }, el("strong", {}, f.kind), " (" + f.rule + ", base ",
        ...(f.parents || []).flatMap((id, i) => (i ? [", ", id] : [id])), "): ", f.reason))));
  }
}

function renderParents(m) {
  const ul = document.getElementById("parents");
  if (!m.parents.length) {
    ul.append(el("li", { class: "muted" }, "No declared parent: a root of its family."));
    return;
  }
  if (m.merge) ul.append(el("li", { class: "muted" }, "A merge of " + m.parents.length + " models:"));
  m.parents.forEach((p) => ul.append(el("li", {}, modelLink(p.id, "parent-link"), " ", relationBadge(p.relation, p.inferred))));
}

function renderDeployment(m) {
  const ul = document.getElementById("deployment");
  if (!m.deployment.length) ul.append(el("li", { class: "muted" }, "No deployment signal."));
  m.deployment.forEach((s) => ul.append(el("li", {}, el("span", { class: "group" }, s.group), " ", s.signal,
    el("span", { class: "muted" }, " (" + s.source + ", " + s.hub + ")"))));
}

function renderMirrors(m) {
  const ul = document.getElementById("mirrors");
  ul.append(el("li", {}, "present on: " + m.hubs.join(", ")));
  m.mirrors.forEach((x) => ul.append(el("li", {}, "ModelScope ", x.modelscope_id, " mirrors HF ", x.hf_id,
    el("span", { class: "muted" }, " (" + x.rule + ", confidence " + x.confidence + ")"))));
}

// One tree node: its row, and (on demand) the list of its children, loaded a page at a time.
function treeNode(row, isRoot) {
  const kids = el("ul", { class: "children", hidden: true });
  const total = row.children || 0;
  const toggle = el("button", { class: "toggle", type: "button", "aria-expanded": "false",
                                disabled: total === 0, title: total ? "show " + total + " children" : "no children" },
                    total ? "▸" : "·");
  let loaded = false;
  let next = null;

  async function loadPage() {
    const more = kids.querySelector(":scope > li.more");
    if (more) more.remove();
    let path = "/api/models/" + idPath(row.id) + "/children?limit=" + CHILDREN_PAGE;
    if (next) path += "&cursor=" + encodeURIComponent(next);
    try {
      const page = await api(path);
      page.models.forEach((child) => kids.append(treeNode(child, false)));
      next = page.next;
      if (next) {
        kids.append(el("li", { class: "more" }, el("button", { type: "button", class: "more-button", onclick: loadPage },
          "show more (" + number(page.count - kids.querySelectorAll(":scope > li.node").length) + " left)")));
      }
    } catch (error) {
      kids.append(el("li", { class: "error" }, error.message));
    }
  }

  toggle.addEventListener("click", async () => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    if (!open && !loaded) {
      loaded = true;
      await loadPage();
    }
    kids.hidden = open;
    toggle.setAttribute("aria-expanded", String(!open));
    toggle.textContent = open ? "▸" : "▾";
  });

  const parts = [toggle, " ", isRoot ? el("strong", {}, row.id) : modelLink(row.id)];
  if (!isRoot) {
    parts.push(" ", relationBadge(row.relation, row.inferred), " ", licenceBadge(row.license, row.edge));
    const parents = row.parents || [];
    if (parents.length > 1) {
      parts.push(" ", el("span", { class: "merge-parents" }, "merge of ",
        ...parents.flatMap((p, i) => (i ? [", ", modelLink(p, "parent-link")] : [modelLink(p, "parent-link")]))));
    }
  }
  const counts = RELATIONS.filter((k) => row.counts && row.counts[k]).map((k) => k + " " + number(row.counts[k]));
  parts.push(" ", el("span", { class: "muted" }, (counts.length ? counts.join(" · ") : "no children") +
    (row.downloads !== null && row.downloads !== undefined ? " · " + number(row.downloads) + " downloads" : "")));
  const item = el("li", { class: "node", dataset: { id: row.id } }, el("div", { class: "row" }, ...parts), kids);
  item.toggle = toggle;
  return item;
}

async function modelPage(main) {
  const id = main.dataset.model;
  let m;
  try {
    m = await api("/api/models/" + idPath(id));
  } catch (error) {
    showError(document.getElementById("model-error"), error);
    return;
  }
  renderLinks(m);
  renderFacts(m);
  renderLicence(m);
  renderParents(m);
  renderDeployment(m);
  renderMirrors(m);
  const root = treeNode({ id: m.id, children: m.children, counts: m.counts, downloads: m.downloads }, true);
  document.getElementById("tree").append(root);
  if (m.children) root.toggle.click();
}

// ------------------------------------------------------------------------------------------- families page

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// One line per family over the months: ``key`` is the figure drawn (cumulative, share), ``fmt`` its label.
function raceChart(box, months, key, fmt) {
  const names = [...new Set(months.map((m) => m.family))];
  const periods = [...new Set(months.map((m) => m.month))].sort();
  if (!periods.length) {
    box.append(el("p", { class: "muted" }, "No months with new derivatives."));
    return;
  }
  const value = new Map(months.map((m) => [m.family + "|" + m.month, m[key] || 0]));
  const top = Math.max(key === "share" ? 0.01 : 1, ...months.map((m) => m[key] || 0));
  const W = 760, H = 320, L = 60, R = 140, T = 10, B = 30;
  const x = (i) => L + (periods.length === 1 ? 0 : (i * (W - L - R)) / (periods.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / top);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "race" });
  chart.append(svg("title", {}, (key === "share" ? "Share of new derivatives" : "Cumulative derivatives") + " by family, per month"));
  for (const frac of [0, 0.25, 0.5, 0.75, 1]) {
    chart.append(svg("line", { x1: L, x2: W - R, y1: y(top * frac), y2: y(top * frac), class: "gridline" }),
      svg("text", { x: L - 6, y: y(top * frac) + 4, class: "axis", "text-anchor": "end" }, fmt(top * frac)));
  }
  const step = Math.max(1, Math.ceil(periods.length / 8));
  periods.forEach((p, i) => {
    if (i % step === 0) chart.append(svg("text", { x: x(i), y: H - 8, class: "axis", "text-anchor": "middle" }, p));
  });
  const labels = [];
  names.forEach((name, n) => {
    let last = 0;
    const points = periods.map((p, i) => {
      last = value.has(name + "|" + p) ? value.get(name + "|" + p) : key === "share" ? 0 : last;
      return `${x(i).toFixed(1)},${y(last).toFixed(1)}`;
    });
    chart.append(svg("polyline", { points: points.join(" "), class: "series s" + (n % 8) }));
    labels.push({ y: y(last) + 4, text: name + " " + fmt(last), cls: "label s" + (n % 8) });
  });
  labels.sort((a, b) => a.y - b.y);  // end labels, spread apart so that none overlaps another
  labels.forEach((label, i) => {
    if (i && label.y < labels[i - 1].y + 14) label.y = labels[i - 1].y + 14;
  });
  let limit = H - 2;  // those pushed below the chart move up, just as far as needed
  for (const label of labels.slice().reverse()) {
    label.y = Math.min(label.y, limit);
    limit = label.y - 14;
  }
  labels.forEach((label) => chart.append(svg("text", { x: W - R + 6, y: label.y, class: label.cls }, label.text)));
  box.append(chart);
}

async function familiesPage() {
  const box = document.getElementById("families-error");
  let data;
  try {
    data = await api("/api/families");
  } catch (error) {
    if (error.status === 503) {  // computed once per state of the store: wait for it
      box.hidden = false;
      box.className = "notice";
      box.replaceChildren(el("p", {}, error.message + " (this page reloads the figures by itself)"));
      setTimeout(familiesPage, 5000);
      return;
    }
    box.className = "error";
    showError(box, error);
    return;
  }
  box.hidden = true;
  const count = (v) => Math.round(v).toLocaleString("en");
  const percent = (v) => (100 * v).toFixed(v < 0.1 ? 1 : 0) + " %";
  raceChart(document.getElementById("race"), data.months || [], "cumulative", count);
  raceChart(document.getElementById("share"), data.months || [], "share", percent);
  const cols = ["name", "orgs", "roots", "derivatives", "finetune", "adapter", "quantized", "merge", "undeclared", "inferred", "downloads"];
  const table = document.getElementById("families");
  table.append(el("thead", {}, el("tr", {}, cols.map((c) => el("th", {}, c)))));
  table.append(el("tbody", {}, (data.families || []).map((f) => el("tr", {}, cols.map((c) => {
    const v = RELATIONS.includes(c) ? (f.by_relation || {})[c] : f[c];
    return el("td", { class: typeof v === "number" ? "num" : "" }, Array.isArray(v) ? v.join(", ") : typeof v === "number" ? number(v) : v ?? "–");
  })))));
  const caveats = document.getElementById("families-caveats");
  (data.caveats || []).forEach((c) => caveats.append(el("li", {}, c)));
}

// ------------------------------------------------------------------------------------------- start

window.addEventListener("DOMContentLoaded", () => {
  setupSearch();
  const main = document.getElementById("page");
  if (main.dataset.page === "model") modelPage(main);
  if (main.dataset.page === "families") familiesPage();
});
