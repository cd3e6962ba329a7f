// Switchboard web chat widget. Embed with
//   <script src="https://HOST/widget.js" data-company="Acme" data-color="#1f3a5f" async></script>
// A floating chat window; messages carry client ids, stay in an outbox until the
// server acknowledges them (after committing), and are resent after a reconnect.
// Connecting opens no conversation: the visitor's first message does (the server
// says `opened`). When the agent resolves the conversation the visitor is asked for
// a 1–5 rating; the next message after that opens a new conversation.
(() => {
  const script = document.currentScript;
  const origin = new URL(script.src).origin;
  const company = script.dataset.company || "Support";
  const color = script.dataset.color || "#1f3a5f";
  const store = window.localStorage;
  const KEY = "switchboard-chat:" + origin;
  const state = JSON.parse(store.getItem(KEY) || "{}");
  state.outbox = state.outbox || [];
  const save = () => store.setItem(KEY, JSON.stringify(state));
  const zh = (state.language || navigator.language || "").startsWith("zh");
  const T = zh
    ? { open: "在线咨询", name: "您的姓名", email: "邮箱（可选）", start: "开始聊天", send: "发送", placeholder: "输入消息…", offline: "连接中断，正在重连…", rate: "本次服务您满意吗？", thanks: "感谢您的评价！", away: "客服暂时不在线。请留下邮箱和留言，我们会通过邮件回复您。", your_email: "您的邮箱", leave: "留言", left: "已收到您的留言，我们会回复到 " }
    : { open: "Chat with us", name: "Your name", email: "E-mail (optional)", start: "Start chat", send: "Send", placeholder: "Type a message…", offline: "Connection lost, reconnecting…", rate: "How did we do?", thanks: "Thank you for your rating!", away: "No one is online right now. Leave your e-mail and a message; we will answer by e-mail.", your_email: "Your e-mail", leave: "Leave message", left: "Thank you; we will answer at " };

  const host = document.createElement("div");
  host.id = "switchboard-chat";
  const root = host.attachShadow({ mode: "open" });
  root.innerHTML = `
    <style>
      .btn { position: fixed; right: 20px; bottom: 20px; background: ${color}; color: #fff; border: 0; border-radius: 24px; padding: 12px 18px; font: 15px system-ui; cursor: pointer; }
      .panel { position: fixed; right: 20px; bottom: 20px; width: 320px; height: 440px; background: #fff; border-radius: 10px; box-shadow: 0 4px 24px #0003; display: flex; flex-direction: column; font: 14px system-ui; }
      .head { background: ${color}; color: #fff; padding: 10px 12px; border-radius: 10px 10px 0 0; display: flex; justify-content: space-between; }
      .head button { background: none; border: 0; color: #fff; cursor: pointer; font-size: 16px; }
      .log { flex: 1; overflow-y: auto; padding: 8px; }
      .msg { margin: 4px 0; padding: 6px 9px; border-radius: 8px; max-width: 80%; white-space: pre-wrap; word-wrap: break-word; }
      .in { background: #e7eef8; margin-left: auto; }
      .out { background: #f1f1f1; }
      .pending { opacity: .55; }
      form { display: flex; gap: 6px; padding: 8px; border-top: 1px solid #eee; }
      form.pre, form.leave { flex-direction: column; }
      input { flex: 1; padding: 6px; }
      .rate { padding: 6px 8px; border-top: 1px solid #eee; display: flex; gap: 4px; align-items: center; flex-wrap: wrap; }
      .rate button { border: 1px solid ${color}; background: #fff; color: ${color}; border-radius: 4px; width: 28px; cursor: pointer; }
      .status { color: #a40; font-size: 12px; padding: 0 8px; min-height: 1em; }
      [hidden] { display: none !important; }
    </style>
    <button class="btn" part="button"></button>
    <div class="panel" hidden>
      <div class="head"><span class="title"></span><button class="close" aria-label="close">×</button></div>
      <div class="log" role="log" aria-live="polite"></div>
      <div class="rate" hidden><span></span></div>
      <div class="status"></div>
      <form class="pre"><input name="name" required><input name="email" type="email"><button></button></form>
      <form class="compose" hidden><input name="text" autocomplete="off" maxlength="4000"><button></button></form>
      <form class="leave" hidden><p class="away"></p><input name="email" type="email" required><textarea name="text" required maxlength="4000" rows="4"></textarea><button></button></form>
    </div>`;
  const $ = (s) => root.querySelector(s);
  $(".btn").textContent = T.open;
  $(".title").textContent = company;
  $(".pre [name=name]").placeholder = T.name;
  $(".pre [name=email]").placeholder = T.email;
  $(".pre button").textContent = T.start;
  $(".compose [name=text]").placeholder = T.placeholder;
  $(".compose button").textContent = T.send;
  $(".leave .away").textContent = T.away;
  $(".leave [name=email]").placeholder = T.your_email;
  $(".leave button").textContent = T.leave;
  document.body.appendChild(host);

  const shown = new Set();
  let ws = null, backoff = 500, ready = false;

  function line(dir, author, text, id, pending) {
    if (id && shown.has(id)) return;
    if (id) shown.add(id);
    const div = document.createElement("div");
    div.className = `msg ${dir}${pending ? " pending" : ""}`;
    if (pending) div.dataset.client = pending;
    div.textContent = dir === "out" ? `${author}: ${text}` : text;
    $(".log").appendChild(div);
    $(".log").scrollTop = 1e9;
  }

  function flush() {
    if (!ready) return;
    for (const m of state.outbox) ws.send(JSON.stringify({ type: "message", client_id: m.client_id, text: m.text }));
  }

  function connect() {
    const url = origin.replace(/^http/, "ws") + "/chat/ws";
    ws = new WebSocket(url);
    ws.onopen = () => {
      backoff = 500;
      $(".status").textContent = "";
      ws.send(JSON.stringify({ type: "hello", visitor: state.visitor, name: state.name, email: state.email, language: state.language }));
    };
    ws.onmessage = (ev) => {
      const f = JSON.parse(ev.data);
      if (f.type === "welcome") {
        state.visitor = f.visitor; save();
        for (const m of f.history) line(m.direction, m.author, m.text, "s" + m.seq);
        // Nobody online and no chat going: offer a message answered by e-mail.
        if (f.agents_online && state.left) { delete state.left; save(); }
        const offline = !f.agents_online && !f.conversation && state.outbox.length === 0 && !state.left;
        $(".leave").hidden = !offline;
        $(".compose").hidden = offline || !!state.left;
        if (state.left) $(".status").textContent = T.left + state.left;
        if (offline && state.email) $(".leave [name=email]").value = state.email;
        ready = true;
        flush();
      } else if (f.type === "opened") {
        // A new conversation (after a resolved one): its rating question is over.
        $(".rate").hidden = true;
      } else if (f.type === "ack") {
        state.outbox = state.outbox.filter((m) => m.client_id !== f.client_id); save();
        const el = root.querySelector(`[data-client="${CSS.escape(f.client_id)}"]`);
        if (el) el.classList.remove("pending");
        shown.add("s" + f.seq);
      } else if (f.type === "left") {
        state.left = f.email; save();
        $(".leave").hidden = true;
        $(".compose").hidden = true;
        $(".status").textContent = T.left + f.email;
      } else if (f.type === "message") {
        line(f.direction, f.author, f.text, "s" + f.seq);
      } else if (f.type === "rate_request") {
        askRating(f.scale);
      } else if (f.type === "rated") {
        $(".rate").replaceChildren(Object.assign(document.createElement("span"), { textContent: T.thanks }));
      } else if (f.type === "error") {
        $(".status").textContent = f.message;
      }
    };
    ws.onclose = () => {
      ready = false;
      $(".status").textContent = T.offline;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  // The agent resolved the conversation: one row of score buttons, 1 to `scale`.
  function askRating(scale) {
    const row = $(".rate");
    const label = Object.assign(document.createElement("span"), { textContent: T.rate });
    const buttons = Array.from({ length: scale }, (_, i) => {
      const b = Object.assign(document.createElement("button"), { textContent: String(i + 1), type: "button" });
      b.dataset.score = String(i + 1);
      b.onclick = () => { if (ready) ws.send(JSON.stringify({ type: "rate", score: i + 1 })); };
      return b;
    });
    row.replaceChildren(label, ...buttons);
    row.hidden = false;
  }

  function openPanel() {
    $(".btn").hidden = true;
    $(".panel").hidden = false;
    const known = !!state.name;
    $(".pre").hidden = known;
    $(".compose").hidden = !known;
    if (known && !ws) connect();
  }
  $(".btn").onclick = openPanel;
  $(".close").onclick = () => { $(".panel").hidden = true; $(".btn").hidden = false; };
  $(".pre").onsubmit = (e) => {
    e.preventDefault();
    state.name = $(".pre [name=name]").value.trim();
    state.email = $(".pre [name=email]").value.trim() || undefined;
    state.language = navigator.language.startsWith("zh") ? "zh" : "en";
    save();
    openPanel();
  };
  $(".compose").onsubmit = (e) => {
    e.preventDefault();
    const input = $(".compose [name=text]");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const m = { client_id: "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8), text };
    state.outbox.push(m); save();
    line("in", state.name, text, null, m.client_id);
    if (ready) ws.send(JSON.stringify({ type: "message", client_id: m.client_id, text }));
  };
  $(".leave").onsubmit = (e) => {
    e.preventDefault();
    const email = $(".leave [name=email]").value.trim();
    const text = $(".leave [name=text]").value.trim();
    if (!email || !text || !ready) return;
    const client_id = "c-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
    ws.send(JSON.stringify({ type: "leave_message", client_id, email, text }));
  };
  if (state.name) openPanel();
  for (const m of state.outbox) line("in", state.name, m.text, null, m.client_id);
})();
