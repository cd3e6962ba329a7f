// The supervisor view: every queue's live figures (waiting, longest and estimated
// wait, agents by state, today's offered/answered/abandoned/overflowed, service level) and
// every agent's state, refreshed every two seconds; on an agent's browser call,
// listen, whisper or barge (`monitor.js`). Plain ES module, no build step.

import { $, api, languages } from "/ui/page.js";
import { Monitor } from "/ui/monitor.js";

const L = languages({
  en: { workspace: "Workspace", supervisor: "Supervisor", supervisors_only: "This page is for supervisors.",
        sign_in: "Sign in on the workspace", queues: "Queues", queue: "Queue", waiting: "Waiting",
        longest: "Longest wait", ewt: "Estimated wait", agents: "Agents", offered: "Offered today",
        answered: "Answered", abandoned: "Abandoned", overflowed: "Overflowed", sl: "Service level", name: "Name", state: "State",
        updated: "Updated {time}", stale: "Not updated since {time}: {error}",
        available: "available", away: "away", offline: "offline", offered_state: "offered", busy: "busy", wrap_up: "wrap-up",
        monitor: "Monitor", listen: "Listen", whisper: "Whisper", barge: "Barge", stop: "Stop",
        m_connecting: "Joining {agent}'s call ({mode})…", m_connected: "On {agent}'s call: {mode}",
        m_idle: "Not monitoring.", m_error: "Monitoring refused: {reason}" },
  zh: { workspace: "工作台", supervisor: "班长监控", supervisors_only: "此页面仅供班长使用。",
        sign_in: "请在工作台登录", queues: "队列", queue: "队列", waiting: "等待中",
        longest: "最长等待", ewt: "预计等待", agents: "坐席", offered: "今日分配",
        answered: "已接听", abandoned: "已放弃", overflowed: "已溢出", sl: "服务水平", name: "姓名", state: "状态",
        updated: "更新于 {time}", stale: "自 {time} 起未更新：{error}",
        available: "空闲", away: "离开", offline: "离线", offered_state: "振铃中", busy: "忙碌", wrap_up: "话后处理",
        monitor: "监听", listen: "监听", whisper: "密语", barge: "强插", stop: "停止",
        m_connecting: "正在加入 {agent} 的通话（{mode}）…", m_connected: "正在 {agent} 的通话中：{mode}",
        m_idle: "未在监听。", m_error: "无法监听：{reason}" },
});
const t = L.t;

const seconds = (s) => (s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` : `${s} s`);
const stateName = (st) => t(st === "offered" ? "offered_state" : st);

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function queueRow(q) {
  const tr = document.createElement("tr");
  tr.dataset.queue = q.queue;
  const agents = Object.entries(q.agents).map(([st, n]) => `${stateName(st)} ${n}`).join(", ");
  const sl = q.service_level == null ? "—" : `${Math.round(q.service_level)}%`;
  tr.append(cell(q.queue), cell(String(q.waiting), "waiting"), cell(seconds(q.longest_wait_seconds)),
    cell(seconds(q.estimated_wait_seconds)), cell(agents), cell(String(q.offered_today)),
    cell(String(q.answered_today)), cell(String(q.abandoned_today)), cell(String(q.overflowed_today)), cell(sl));
  return tr;
}

function agentRow(a) {
  const tr = document.createElement("tr");
  tr.dataset.agent = a.name;
  const st = a.status?.state || "offline";
  tr.dataset.state = st;
  const state = stateName(st) + (a.status?.reason ? ` (${a.status.reason})` : "");
  tr.append(cell(a.name), cell(state, "state"), cell((a.queues || []).join(", ")), monitorCell(a.name, st));
  return tr;
}

/** Listen / whisper / barge buttons for a busy agent. */
function monitorCell(agent, state) {
  const td = cell("", "monitor");
  if (state !== "busy") return td;
  for (const mode of ["listen", "whisper", "barge"]) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = mode;
    b.textContent = t(mode);
    b.onclick = () => monitor.start(agent, mode);
    td.append(b);
  }
  return td;
}

function monitorChanged({ state, agent, mode, reason }) {
  $("#monitoring").dataset.state = state;
  $("#monitor-stop").hidden = state === "idle" || state === "error";
  const text = state === "idle" && reason && !["stopped", "call_ended"].includes(reason)
    ? t("m_error", { reason }) : t(`m_${state}`, { agent, mode: t(mode || ""), reason });
  $("#monitor-status").textContent = text;
}

let monitor = null;

let lastOk = null;
async function refresh() {
  try {
    const [queues, agents] = await Promise.all([api("GET", "/api/v1/queues"), api("GET", "/api/v1/agents")]);
    $("#queues tbody").replaceChildren(...queues.items.map(queueRow));
    $("#agents tbody").replaceChildren(...agents.items.map(agentRow));
    lastOk = new Date();
    $("#updated").textContent = t("updated", { time: lastOk.toLocaleTimeString(L.lang) });
  } catch (e) {
    $("#updated").textContent = t("stale", { time: lastOk ? lastOk.toLocaleTimeString(L.lang) : "—", error: e.message });
  }
}

$("#lang").onchange = (ev) => { L.set(ev.target.value); refresh(); };
L.apply();
api("GET", "/api/v1/auth/me").then((user) => {
  $("#who").textContent = `${user.name} (${user.role})`;
  if (user.role !== "supervisor" && user.role !== "admin") { $("#denied").hidden = false; return; }
  $("#board").hidden = false;
  monitor = new Monitor(monitorChanged);
  window.switchboardMonitor = monitor; // for the browser tests
  $("#monitor-stop").onclick = () => monitor.stop();
  monitorChanged({ state: "idle" });
  refresh();
  setInterval(refresh, 2000);
}).catch(() => { $("#denied").hidden = false; });
