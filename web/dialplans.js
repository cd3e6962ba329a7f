// The dialplan editor for admins: list the plans, edit one as YAML, check it against
// the whole folder (problems by line:col; a click moves the cursor there), save it
// with a comment, read its history with diffs, and roll back. Plain ES module, no
// build step; text goes through textContent only.

import { $, api, languages } from "/ui/page.js";

const L = languages({
  en: { workspace: "Workspace", dialplans: "Dialplans", admins_only: "This page is for administrators.",
        sign_in: "Sign in on the workspace", in_force: "Version {v} in force", new_name: "new-plan-name",
        new_plan: "New", check: "Check", save: "Save", reload: "Reload", comment: "What changed? (optional)",
        history: "History", rollback: "Roll back to this version", folder_problems: "Problems of the last reload",
        ok: "No problems: it can be saved.", warnings_only: "Only warnings: it can be saved.",
        n_problems: "{n} problem(s): it cannot be saved.", saved: "Saved. Version {v} is in force.",
        not_saved: "Not saved: the plan has errors. The plan in force is unchanged.",
        conflict: "Not saved: someone changed this plan after you opened it. Copy your edit, press Reload and apply it again.",
        rolled_back: "Rolled back. Version {v} is in force.", confirm_rollback: "Save this version again and put it in force?",
        confirm_discard: "Discard your unsaved changes?", same_as_disk: "Same as the file on disk.",
        diff_title: "Changes from this version to the file on disk", no_history: "No saved versions yet.",
        new_file: "new file", default_plan: "default", warning: "warning", unsaved: "unsaved changes",
        flow: "Flow" },
  zh: { workspace: "工作台", dialplans: "拨号方案", admins_only: "此页面仅供管理员使用。",
        sign_in: "请在工作台登录", in_force: "生效版本 {v}", new_name: "新方案名称",
        new_plan: "新建", check: "检查", save: "保存", reload: "重新加载", comment: "修改说明（可选）",
        history: "历史版本", rollback: "回滚到此版本", folder_problems: "上次加载的问题",
        ok: "没有问题，可以保存。", warnings_only: "只有警告，可以保存。",
        n_problems: "{n} 个问题，无法保存。", saved: "已保存，生效版本 {v}。",
        not_saved: "未保存：方案有错误，当前生效的方案未改变。",
        conflict: "未保存：您打开此方案后，它已被他人修改。请复制您的修改，点击“重新加载”后再改一次。",
        rolled_back: "已回滚，生效版本 {v}。", confirm_rollback: "重新保存此版本并使其生效？",
        confirm_discard: "放弃未保存的修改？", same_as_disk: "与磁盘上的文件相同。",
        diff_title: "从此版本到磁盘上文件的改动", no_history: "还没有保存过的版本。",
        new_file: "新文件", default_plan: "默认", warning: "警告", unsaved: "有未保存的修改",
        flow: "流程图" },
});
const t = L.t;

// The plan being edited: its name, file, and the sha256 and text it was opened at.
let plan = null;

function say(text, kind = "") {
  $("#message").textContent = text;
  $("#message").className = kind;
}

const dirty = () => plan && $("#text").value !== plan.text;
const item = (text, className = "") => Object.assign(document.createElement("li"), { textContent: text, className });

// ---- The list of plans -------------------------------------------------------
async function loadPlans() {
  const status = await api("GET", "/api/v1/dialplans");
  $("#in-force").textContent = t("in_force", { v: status.version });
  $("#plans").replaceChildren(...status.plans.map((p) => {
    const li = item(p.name + (p.dids.length ? ` · ${p.dids.join(", ")}` : "") + (p.default ? ` · ${t("default_plan")}` : ""));
    li.dataset.plan = p.name;
    li.classList.toggle("current", plan?.name === p.name);
    li.onclick = () => openPlan(p.name);
    return li;
  }));
  $("#folder-title").hidden = !status.problems.length;
  $("#folder-problems").replaceChildren(...status.problems.map((p) => item(p, "problem")));
}

async function openPlan(name, force = false) {
  if (!force && dirty() && !confirm(t("confirm_discard"))) return;
  const src = await api("GET", `/api/v1/dialplans/${encodeURIComponent(name)}/source`);
  edit({ name: src.name, file: src.file, sha256: src.sha256, text: src.text });
  drawFlow(src.flow);
}

function newPlan(name) {
  if (document.querySelector(`#plans li[data-plan="${name}"]`)) { openPlan(name); return; }
  if (dirty() && !confirm(t("confirm_discard"))) return;
  const text = `name: ${name}\nmatch:\n  dids: []\nlanguage: en\ntimezone: UTC\nstart: bye\nsteps:\n  bye:\n    hangup: {}\n`;
  edit({ name, file: null, sha256: null, text: "" });
  $("#text").value = text;
  drawFlow(null);
}

function edit(p) {
  plan = p;
  $("#editor").hidden = false;
  $("#plan-name").textContent = p.name;
  $("#plan-file").textContent = p.file || t("new_file");
  $("#text").value = p.text;
  $("#comment").value = "";
  $("#problems").replaceChildren();
  $("#version").hidden = true;
  say("");
  document.querySelectorAll("#plans li").forEach((li) => li.classList.toggle("current", li.dataset.plan === p.name));
  loadVersions();
}

// ---- Problems, by line and column ---------------------------------------------
const ownFile = (p) => p.file === plan.file || (!plan.file && p.file.endsWith(`/${plan.name}.yaml`));

function showProblems(problems) {
  $("#problems").replaceChildren(...problems.map((p) => {
    const own = ownFile(p);
    const where = own ? `${p.line}:${p.col}` : `${p.file}:${p.line}:${p.col}`;
    const li = item(`${where} ${p.warning ? t("warning") + ": " : ""}${p.message}`, p.warning ? "warning" : "error");
    if (own) li.onclick = () => goTo(p.line, p.col);
    return li;
  }));
}

// Selects line `line` of the text and scrolls it into view.
function goTo(line, col) {
  const area = $("#text");
  const lines = area.value.split("\n");
  const n = Math.min(Math.max(line, 1), lines.length);
  const start = lines.slice(0, n - 1).reduce((sum, l) => sum + l.length + 1, 0);
  const end = start + lines[n - 1].length;
  area.focus();
  area.setSelectionRange(Math.min(start + Math.max(col, 1) - 1, end), end);
  const height = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, (n - 4) * height);
}

async function check() {
  const report = await api("POST", `/api/v1/dialplans/${plan.name}/check`, { text: $("#text").value })
    .catch((e) => { say(e.message, "error"); return null; });
  if (!report) return;
  showProblems(report.problems);
  drawFlow(report.flow);
  const errors = report.problems.filter((p) => !p.warning).length;
  if (report.ok) say(report.problems.length ? t("warnings_only") : t("ok"), "ok");
  else say(t("n_problems", { n: errors }), "error");
}

// ---- The flow: steps as boxes in columns by distance from the start, ways out
// as arrows with their labels. Read-only; a click on a box selects its line.
const SVG = "http://www.w3.org/2000/svg";
const BOX = { w: 150, h: 44, gx: 90, gy: 26 };

function svg(name, attrs = {}, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Breadth-first distance of each step from the start; unreachable steps go last.
function columns(flow) {
  const byName = new Map(flow.steps.map((s) => [s.name, s]));
  const depth = new Map([[flow.start, 0]]);
  const todo = [flow.start];
  while (todo.length) {
    const n = todo.shift();
    for (const e of byName.get(n)?.edges || []) {
      if (byName.has(e.to) && !depth.has(e.to)) { depth.set(e.to, depth.get(n) + 1); todo.push(e.to); }
    }
  }
  const last = Math.max(0, ...depth.values()) + 1;
  const cols = [];
  for (const s of flow.steps) (cols[depth.get(s.name) ?? last] ||= []).push(s);
  return cols.filter(Boolean);
}

function drawFlow(flow) {
  if (!flow) { $("#flow").replaceChildren(); return; }
  const cols = columns(flow);
  const at = new Map();
  cols.forEach((col, x) => col.forEach((s, y) =>
    at.set(s.name, { x: 10 + x * (BOX.w + BOX.gx), y: 10 + y * (BOX.h + BOX.gy) })));
  const width = 20 + cols.length * (BOX.w + BOX.gx) - BOX.gx;
  const height = 20 + Math.max(...cols.map((c) => c.length)) * (BOX.h + BOX.gy) - BOX.gy;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": t("flow") });
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
  marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" }));
  root.append(svg("defs"));
  root.firstChild.append(marker);
  for (const s of flow.steps) for (const e of s.edges) if (at.has(e.to)) root.append(edge(at.get(s.name), at.get(e.to), s.name, e));
  for (const s of flow.steps) root.append(stepBox(s, at.get(s.name), s.name === flow.start));
  $("#flow").replaceChildren(root);
}

function edge(from, to, name, e) {
  const [x1, y1, x2, y2] = [from.x + BOX.w, from.y + BOX.h / 2, to.x, to.y + BOX.h / 2];
  const bend = Math.max(40, Math.abs(x2 - x1) / 2);
  const g = svg("g", { class: "edge", "data-from": name, "data-to": e.to, "data-label": e.label });
  g.append(svg("path", { d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`, "marker-end": "url(#arrow)" }));
  if (e.label) g.append(svg("text", { x: x1 + 6, y: y1 - 4 + (y2 > y1 ? 12 : 0) }, e.label.slice(0, 18)));
  return g;
}

function stepBox(s, p, start) {
  const g = svg("g", { class: start ? "step start" : "step", "data-step": s.name, transform: `translate(${p.x},${p.y})` });
  g.append(svg("rect", { width: BOX.w, height: BOX.h, rx: 6 }));
  g.append(svg("text", { x: 8, y: 17, class: "name" }, s.name));
  const info = s.detail ? `${s.action} · ${s.detail}` : s.action;
  g.append(svg("text", { x: 8, y: 35, class: "info" }, info.length > 24 ? info.slice(0, 23) + "…" : info));
  g.onclick = () => goTo(s.line, 1);
  return g;
}

// ---- Saving -----------------------------------------------------------------
async function save() {
  const text = $("#text").value;
  const body = { text, comment: $("#comment").value.trim() };
  if (plan.sha256) body.base_sha256 = plan.sha256;
  try {
    const saved = await api("PUT", `/api/v1/dialplans/${plan.name}`, body);
    plan = { ...plan, sha256: saved.sha256, text };
    $("#plan-name").textContent = plan.name;
    if (!plan.file) plan.file = (await api("GET", `/api/v1/dialplans/${plan.name}/source`)).file;
    $("#plan-file").textContent = plan.file;
    $("#comment").value = "";
    showProblems(saved.warnings);
    say(t("saved", { v: saved.version }), "ok");
    await Promise.all([loadPlans(), loadVersions()]);
  } catch (e) {
    saveFailed(e);
  }
}

function saveFailed(e) {
  if (e.status === 409) say(t("conflict"), "error");
  else if (e.data?.error?.code === "invalid_dialplan") {
    showProblems(e.data.error.problems);
    say(t("not_saved"), "error");
  } else say(e.message, "error");
}

// ---- History, diffs and rollback ---------------------------------------------
async function loadVersions() {
  const name = plan.name;
  const list = await api("GET", `/api/v1/dialplans/${name}/versions`).catch(() => []);
  if (plan?.name !== name) return;
  const items = list.map((v) => {
    const when = new Date(v.created_at).toLocaleString(L.lang);
    const li = item(`${when} · ${v.author}${v.comment ? " · " + v.comment : ""} · ${v.sha256.slice(0, 8)}`);
    li.dataset.version = v.id;
    li.onclick = () => showVersion(v.id);
    return li;
  });
  if (!items.length) items.push(item(t("no_history"), "muted"));
  $("#versions").replaceChildren(...items);
}

async function showVersion(id) {
  const v = await api("GET", `/api/v1/dialplans/${plan.name}/versions/${id}`);
  document.querySelectorAll("#versions li").forEach((li) => li.classList.toggle("current", li.dataset.version === id));
  $("#version").hidden = false;
  $("#version").dataset.version = id;
  $("#version-title").textContent = v.diff ? t("diff_title") : t("same_as_disk");
  $("#diff").replaceChildren(...v.diff.split("\n").map((line) => {
    const span = document.createElement("span");
    span.textContent = line + "\n";
    span.className = line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "";
    return span;
  }));
}

async function rollback() {
  const id = $("#version").dataset.version;
  if (!id || !confirm(t("confirm_rollback"))) return;
  try {
    const saved = await api("POST", `/api/v1/dialplans/${plan.name}/rollback`, { version: id });
    const src = await api("GET", `/api/v1/dialplans/${plan.name}/source`);
    edit({ name: src.name, file: src.file, sha256: src.sha256, text: src.text });
    drawFlow(src.flow);
    showProblems(saved.warnings);
    say(t("rolled_back", { v: saved.version }), "ok");
    await loadPlans();
  } catch (e) {
    saveFailed(e);
  }
}

// ---- Wiring -----------------------------------------------------------------
$("#check").onclick = check;
$("#save").onclick = save;
$("#rollback").onclick = rollback;
$("#reload").onclick = () => { if (!dirty() || confirm(t("confirm_discard"))) openPlan(plan.name, true); };
$("#text").oninput = () => { $("#plan-name").textContent = plan.name + (dirty() ? ` · ${t("unsaved")}` : ""); };
$("#new-plan").onsubmit = (ev) => { ev.preventDefault(); newPlan(new FormData(ev.target).get("name")); ev.target.reset(); };
$("#lang").onchange = (ev) => { L.set(ev.target.value); loadPlans(); if (plan) loadVersions(); };
window.addEventListener("beforeunload", (ev) => { if (dirty()) ev.preventDefault(); });

L.apply();
api("GET", "/api/v1/auth/me").then((user) => {
  $("#who").textContent = `${user.name} (${user.role})`;
  if (user.role !== "admin") { $("#denied").hidden = false; return; }
  $("#dialplans").hidden = false;
  loadPlans();
}).catch(() => { $("#denied").hidden = false; });
