// The agent workspace: sign in, find a customer, read their cross-channel timeline
// live, take offers, chat, and answer calls in the built-in softphone. Plain ES
// modules, no build step; text goes through textContent only.
import { Softphone } from "/ui/softphone.js";

const $ = (sel) => document.querySelector(sel);
const TEXT = {
  en: { signin: "Sign in", name: "Name", password: "Password", logout: "Sign out", search: "Name, phone or e-mail",
        find: "Find", timeline: "Timeline", older: "Older", bad_login: "Wrong name or password", none: "No customer found",
        state: "State", available: "Available", away_break: "Away (break)", away_lunch: "Away (lunch)", offline: "Offline",
        inbox: "Inbox", active: "Active", customers: "Customers", accept: "Accept", reject: "Reject", send: "Send",
        wrapup: "Wrap up", waited: "waiting", reply: "Reply…", on_phone: "The call rings in the softphone above (or your desk phone).",
        mute: "Mute", unmute: "Unmute", hangup: "Hang up", transfer: "Transfer", caller: "Caller", you: "You",
        hold: "Hold", resume: "Resume", or_number: "or number", queues: "Queues", agents: "Agents", busy: "busy", wrap_up: "wrap-up", away: "away", offered: "ringing",
        monitored_listen: "listens to", monitored_whisper: "whispers to", monitored_barge: "barges into the call of", on_hold: "On hold", held_by: "on hold", resumed_by: "resumed",
        dialplans: "Dialplans", supervisor: "Supervisor" },
  zh: { signin: "登录", name: "用户名", password: "密码", logout: "退出", search: "姓名、电话或邮箱",
        find: "查找", timeline: "时间线", older: "更早", bad_login: "用户名或密码错误", none: "没有找到客户",
        state: "状态", available: "空闲", away_break: "离开（休息）", away_lunch: "离开（午餐）", offline: "离线",
        inbox: "待接", active: "处理中", customers: "客户", accept: "接受", reject: "拒绝", send: "发送",
        wrapup: "结束", waited: "已等待", reply: "回复…", on_phone: "来电将在上方软电话（或您的话机）振铃。",
        mute: "静音", unmute: "取消静音", hangup: "挂断", transfer: "转接", caller: "来电者", you: "我",
        hold: "保持", resume: "恢复", or_number: "或号码", queues: "队列", agents: "坐席", busy: "忙碌", wrap_up: "话后处理", away: "离开", offered: "振铃中",
        monitored_listen: "监听", monitored_whisper: "密语", monitored_barge: "强插", on_hold: "通话保持中", held_by: "保持通话", resumed_by: "恢复通话",
        dialplans: "拨号方案", supervisor: "班长监控" },
};
let lang = localStorage.getItem("lang") || (navigator.language.startsWith("zh") ? "zh" : "en");
const t = (k) => (TEXT[lang] && TEXT[lang][k]) || TEXT.en[k] || k;
let current = null, socket = null, oldest = null;

function applyLanguage() {
  document.documentElement.lang = lang;
  $("#lang").value = lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
}

async function api(method, path, body) {
  const res = await fetch(path, { method, headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined, credentials: "same-origin" });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw Object.assign(new Error(data?.error?.message || res.statusText), { status: res.status });
  return data;
}

function show(signedIn, user) {
  $("#login").hidden = signedIn;
  $("#workspace").hidden = !signedIn;
  $("#logout").hidden = !signedIn;
  $("#who").textContent = signedIn ? `${user.name} (${user.role})` : "";
  $("#dialplans-link").hidden = !(signedIn && user.role === "admin");
  $("#supervisor-link").hidden = !(signedIn && (user.role === "supervisor" || user.role === "admin"));
  if (signedIn) startAgent();
}

// ---- Agent: presence, offers, active conversations --------------------------
let agent = null, agentSocket = null;
const offers = new Map();
const chats = new Map();

async function startAgent() {
  try { agent = await api("GET", "/api/v1/agents/me"); } catch { return; } // not an agent
  $("#agentbar").hidden = false;
  showStatus(agent.status);
  connectAgent();
  const mine = await api("GET", `/api/v1/conversations?agent_id=${agent.id}&status=assigned`);
  mine.items.forEach(openChat);
}

function showStatus(st) {
  if (!st) return;
  $("#status").textContent = st.state + (st.reason ? ` (${st.reason})` : "");
  $("#status").dataset.state = st.state;
  const choice = st.state === "away" ? `away:${st.reason}` : st.state;
  if ([...$("#presence").options].some((o) => o.value === choice)) $("#presence").value = choice;
}

let softphone = null;

function connectAgent() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  agentSocket = new WebSocket(`${proto}://${location.host}/api/v1/agent/ws`);
  const send = (msg) => { if (agentSocket.readyState === WebSocket.OPEN) agentSocket.send(JSON.stringify(msg)); };
  const queues = async () => (await api("GET", "/api/v1/queues")).items.map((q) => q.queue);
  const agents = async () => (await api("GET", "/api/v1/agents/directory")).items
    .filter((a) => a.name !== agent?.name).map((a) => ({ name: a.name, state: a.status?.state || "offline" }));
  softphone = softphone || new Softphone({ send, text: t, panel: $("#calls"), queues, agents });
  softphone.send = send;
  agentSocket.onopen = () => softphone.ready();
  window.switchboard = { softphone }; // for the console and the browser tests
  agentSocket.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (softphone.handle(e)) return;
    if (e.type === "hello" || e.type === "resync") {
      offers.clear();
      e.offers.forEach((o) => offers.set(o.offer, o));
      if (e.status) showStatus(e.status);
      renderOffers();
    } else if (e.type === "offer") { offers.set(e.offer, e); renderOffers(); ring(e.channel); }
    else if (e.type === "withdrawn") { offers.delete(e.offer); renderOffers(); }
    else if (e.type === "agent_status") showStatus(e.status);
  };
  agentSocket.onclose = () => setTimeout(connectAgent, 1000);
}

function ring(channel) {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = channel === "voice" ? 440 : 880;
    osc.connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.2);
  } catch { /* no audio device */ }
}

function renderOffers() {
  const items = [...offers.values()].map((o) => {
    const li = document.createElement("li");
    li.className = `offer ${o.channel}`;
    li.dataset.conversation = o.conversation;
    const text = document.createElement("div");
    text.textContent = `${o.channel} · ${o.queue} · ${t("waited")} ${o.waited_seconds}s`;
    const yes = document.createElement("button");
    yes.textContent = t("accept");
    yes.className = "accept";
    yes.onclick = async () => {
      // A ring-all call another agent took first is gone: say so, open nothing.
      const taken = await api("POST", `/api/v1/offers/${o.offer}/accept`).then(() => true, (e) => { alert(e.message); return false; });
      offers.delete(o.offer); renderOffers();
      if (taken) openChat(await api("GET", `/api/v1/conversations/${o.conversation}`));
    };
    const no = document.createElement("button");
    no.textContent = t("reject");
    no.onclick = async () => { await api("POST", `/api/v1/offers/${o.offer}/reject`).catch(() => {}); offers.delete(o.offer); renderOffers(); };
    li.append(text, yes, no);
    return li;
  });
  $("#offers").replaceChildren(...items);
}

async function openChat(conv) {
  if (chats.has(conv.id)) return;
  const box = document.createElement("div");
  box.className = "chat";
  box.dataset.conversation = conv.id;
  const head = document.createElement("strong");
  const customer = await api("GET", `/api/v1/customers/${conv.customer_id}`);
  head.textContent = `${conv.channel}: ${customer.name}`;
  head.onclick = () => openCustomer(customer.id);
  const thread = document.createElement("div");
  thread.className = "thread";
  const form = document.createElement("form");
  const input = document.createElement("input");
  input.name = "text"; input.placeholder = t("reply"); input.autocomplete = "off";
  const send = document.createElement("button");
  send.textContent = t("send");
  form.append(input, send);
  const done = document.createElement("button");
  done.textContent = t("wrapup");
  done.className = "wrapup";
  box.append(head, thread, form, done);
  if (conv.channel === "voice") {
    // Calls ring the agent's registered phone; the page shows the caller's timeline.
    form.hidden = true;
    const note = document.createElement("p");
    note.textContent = t("on_phone");
    thread.append(note);
  }
  $("#work").append(box);
  const seen = new Set();
  const add = (e) => {
    if (e.payload.type === "delivery") return markDelivery(thread, e.payload);
    if (e.payload.type !== "message" || seen.has(e.seq)) return;
    seen.add(e.seq);
    const p = document.createElement("p");
    p.className = e.payload.direction;
    p.dataset.seq = e.seq;
    p.textContent = `${e.payload.author}: ${e.payload.text}`;
    thread.append(p);
    thread.scrollTop = 1e9;
  };
  (await api("GET", `/api/v1/conversations/${conv.id}/messages`)).items.forEach(add);
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/v1/events?conversation_id=${conv.id}`);
  ws.onmessage = (m) => { const e = JSON.parse(m.data); if (e.payload) add(e); };
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const client_id = "a-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
    await api("POST", `/api/v1/conversations/${conv.id}/messages`, { text, client_id }).catch((e) => alert(e.message));
  };
  done.onclick = async () => {
    await api("POST", `/api/v1/conversations/${conv.id}/wrap-up`, { disposition: "answered" }).catch((e) => alert(e.message));
    ws.close(); box.remove(); chats.delete(conv.id);
  };
  chats.set(conv.id, { box, ws });
  if (!current) openCustomer(customer.id);
}

// An e-mail reply's fate beside it in the thread: ✓ sent, ⟳ retrying, ✗ failed.
function markDelivery(thread, d) {
  const p = thread.querySelector(`p[data-seq="${d.message}"]`);
  if (!p) return;
  const mark = { sent: "✓", retrying: "⟳", failed: "✗" }[d.status] || d.status;
  p.dataset.delivery = d.status;
  p.title = d.detail || d.status;
  p.querySelector(".delivery")?.remove();
  const span = document.createElement("span");
  span.className = "delivery";
  span.textContent = ` ${mark}`;
  p.append(span);
}

$("#presence").onchange = async (ev) => {
  if (!agent) return;
  const [state, reason] = ev.target.value.split(":");
  const body = state === "away" ? { state, reason } : { state };
  const view = await api("PUT", `/api/v1/agents/${agent.id}/state`, body);
  showStatus(view.status);
};

function describe(p) {
  switch (p.type) {
    case "message": return `${p.direction === "in" ? "⬅" : "➡"} ${p.author}: ${p.text}`;
    case "call_offered": return `📞 ${p.from} → ${p.to}`;
    case "ivr_step": return p.step === "transfer" && p.detail?.agent ? `IVR transfer → ${p.detail.agent}` : `IVR ${p.step}`;
    case "dtmf": return `DTMF ${p.digits}`;
    case "call_queued": return `⏳ ${p.queue}`;
    case "call_answered": return `✅ ${p.agent}`;
    case "call_hold": return `${p.held ? "⏸" : "▶"} ${p.agent} ${t(p.held ? "held_by" : "resumed_by")}`;
    case "call_monitored": return `🎧 ${p.supervisor} ${t("monitored_" + p.mode)} ${p.agent}`;
    case "call_ended": return `☎ ${p.cause} (${Math.round(p.duration_ms / 1000)} s)`;
    case "call_quality": return callQuality(p);
    case "transcript": return `🗣 ${p.speaker}: ${p.text}`;
    case "status_changed": return `↻ ${p.status}`;
    case "note": return `📝 ${p.author}: ${p.text}`;
    case "identity_merged": return `🔗 merged ${p.merged_customer}`;
    case "recording": return `⏺ recording (${Math.round(p.duration_ms / 1000)} s)`;
    case "voicemail": return `📼 voicemail (${Math.round(p.duration_ms / 1000)} s)`;
    case "overflowed": return `⤳ ${p.from} → ${p.to || p.action} after ${p.waited_seconds} s`;
    case "callback_requested": return `↩ callback to ${p.number} (${p.queue})`;
    case "callback_attempt": return `↩ callback try ${p.attempt} to ${p.number}: ${p.outcome}`;
    case "csat": return `⭐ ${p.score}`;
    case "delivery": return `✉ reply ${p.message}: ${p.status}${p.detail ? " — " + p.detail : ""}`;
    case "routed": return `🧭 ${p.queue} · ${p.rule}${p.because && p.because.length ? ` (${p.because.join(", ")})` : ""}`;
    default: return `${p.type} ${JSON.stringify(p)}`;
  }
}

// One leg's media quality: "📶 caller PCMA: 1200 received, 3 lost (0.25 %), jitter 1.2/4.5 ms, RTT 35 ms".
function callQuality(p) {
  const rtt = p.rtt_mean_ms == null ? "" : `, RTT ${Math.round(p.rtt_mean_ms)} ms`;
  return `📶 ${p.leg} ${p.codec}: ${p.packets_received} received, ${p.packets_lost} lost (${p.loss_percent} %), `
    + `jitter ${p.jitter_mean_ms}/${p.jitter_max_ms} ms${rtt}`;
}

function eventItem(e) {
  const li = document.createElement("li");
  li.className = `${e.payload.type} ${e.payload.direction || ""}`;
  li.dataset.seq = e.seq;
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = new Date(e.occurred_at).toLocaleString(lang);
  li.append(when, document.createTextNode(describe(e.payload)));
  if (e.payload.type === "voicemail" || e.payload.type === "recording") {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.preload = "none";
    audio.src = `/api/v1/events/${e.id}/audio`;
    li.append(audio);
  }
  return li;
}

async function openCustomer(id) {
  const c = await api("GET", `/api/v1/customers/${id}`);
  current = c.merged_into || c.id;
  $("#customer").hidden = false;
  $("#c-name").textContent = c.name;
  $("#c-meta").textContent = [c.tier, c.language, ...(c.tags || [])].filter(Boolean).join(" · ");
  $("#c-identities").replaceChildren(...c.identities.map((i) => {
    const li = document.createElement("li"); li.textContent = `${i.kind}: ${i.value}`; return li; }));
  $("#timeline").replaceChildren();
  oldest = null;
  await loadPage();
  subscribe(current);
}

async function loadPage() {
  const q = oldest ? `?before=${oldest}` : "";
  const page = await api("GET", `/api/v1/customers/${current}/timeline${q}`);
  page.items.forEach((e) => $("#timeline").append(eventItem(e)));
  oldest = page.next_before;
  $("#older").hidden = !oldest;
}

function subscribe(id) {
  if (socket) socket.close();
  const proto = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${proto}://${location.host}/api/v1/events?customer_id=${id}`);
  socket.onmessage = (m) => {
    const e = JSON.parse(m.data);
    if (e.type === "lagged") { openCustomer(id); return; }
    $("#timeline").prepend(eventItem(e));
  };
}

async function search(q) {
  const found = await api("GET", `/api/v1/customers?q=${encodeURIComponent(q)}`);
  const items = found.items.map((c) => {
    const li = document.createElement("li");
    li.textContent = `${c.name} — ${c.identities.map((i) => i.value).join(", ")}`;
    li.onclick = () => openCustomer(c.id);
    return li;
  });
  if (!items.length) { const li = document.createElement("li"); li.textContent = t("none"); items.push(li); }
  $("#results").replaceChildren(...items);
}

$("#login").onsubmit = async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    const user = await api("POST", "/api/v1/auth/login", { name: f.get("name"), password: f.get("password") });
    $("#login-error").textContent = "";
    show(true, user);
  } catch { $("#login-error").textContent = t("bad_login"); }
};
$("#logout").onclick = async () => { await api("POST", "/api/v1/auth/logout"); location.reload(); };
$("#search").onsubmit = (ev) => { ev.preventDefault(); search(new FormData(ev.target).get("q") || ""); };
$("#older").onclick = loadPage;
$("#lang").onchange = (ev) => { lang = ev.target.value; localStorage.setItem("lang", lang); applyLanguage(); };

applyLanguage();
api("GET", "/api/v1/auth/me").then((u) => show(true, u)).catch(() => show(false));
