// The agent workspace: sign in, find a customer, read their cross-channel timeline
// live. Plain ES module, no build step; text goes through textContent only.
const $ = (sel) => document.querySelector(sel);
const TEXT = {
  en: { signin: "Sign in", name: "Name", password: "Password", logout: "Sign out", search: "Name, phone or e-mail",
        find: "Find", timeline: "Timeline", older: "Older", bad_login: "Wrong name or password", none: "No customer found" },
  zh: { signin: "登录", name: "用户名", password: "密码", logout: "退出", search: "姓名、电话或邮箱",
        find: "查找", timeline: "时间线", older: "更早", bad_login: "用户名或密码错误", none: "没有找到客户" },
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
}

function describe(p) {
  switch (p.type) {
    case "message": return `${p.direction === "in" ? "⬅" : "➡"} ${p.author}: ${p.text}`;
    case "call_offered": return `📞 ${p.from} → ${p.to}`;
    case "ivr_step": return `IVR ${p.step}`;
    case "dtmf": return `DTMF ${p.digits}`;
    case "call_queued": return `⏳ ${p.queue}`;
    case "call_answered": return `✅ ${p.agent}`;
    case "call_ended": return `☎ ${p.cause} (${Math.round(p.duration_ms / 1000)} s)`;
    case "transcript": return `🗣 ${p.speaker}: ${p.text}`;
    case "note": return `📝 ${p.author}: ${p.text}`;
    case "identity_merged": return `🔗 merged ${p.merged_customer}`;
    default: return `${p.type} ${JSON.stringify(p)}`;
  }
}

function eventItem(e) {
  const li = document.createElement("li");
  li.className = `${e.payload.type} ${e.payload.direction || ""}`;
  li.dataset.seq = e.seq;
  const when = document.createElement("span");
  when.className = "when";
  when.textContent = new Date(e.occurred_at).toLocaleString(lang);
  li.append(when, document.createTextNode(describe(e.payload)));
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
$("#logout").onclick = async () => { await api("POST", "/api/v1/auth/logout"); show(false); };
$("#search").onsubmit = (ev) => { ev.preventDefault(); search(new FormData(ev.target).get("q") || ""); };
$("#older").onclick = loadPage;
$("#lang").onchange = (ev) => { lang = ev.target.value; localStorage.setItem("lang", lang); applyLanguage(); };

applyLanguage();
api("GET", "/api/v1/auth/me").then((u) => show(true, u)).catch(() => show(false));
