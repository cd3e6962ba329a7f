// The workspace's built-in softphone: answers the calls the server offers over the
// agent socket (`call.offer` with an SDP offer) with a WebRTC peer connection and
// the microphone, plays the caller, and shows a call panel with mute, hold (the
// server plays music on hold to the caller; `call.hold` confirms), keypad, timer,
// hang-up, blind transfer to a queue, another agent or a number, and the live transcript (the call's `transcript` events, which the server
// writes while the call goes on). The server is ICE-lite, so no candidates are
// exchanged.

export class Softphone {
  constructor({ send, text, panel, onChange, queues, agents }) {
    this.queues = queues || (async () => []); // () => Promise<[queue name]>
    this.agents = agents || (async () => []); // () => Promise<[{name, state}]>, other agents
    this.send = send;           // (object) => void, over the agent socket
    this.t = text;              // (key) => translated text
    this.panel = panel;         // element the call panel goes into
    this.onChange = onChange || (() => {});
    this.calls = new Map();     // leg -> { pc, stream, box, started, timer, events }
    this.audio = new Audio();
    this.audio.autoplay = true;
  }

  // The socket (re)opened: tell the server this page takes calls.
  ready() { this.send({ type: "softphone", enabled: true }); }

  // A message from the agent socket; returns true when it was the softphone's.
  handle(e) {
    if (e.type === "softphone.ready") { this.page = e.page; return true; }
    if (!e.type || !e.type.startsWith("call.")) return false;
    if (e.type === "call.offer") this.answer(e);
    else if (e.type === "call.connected") this.connected(e.leg);
    else if (e.type === "call.answered") { const c = this.calls.get(e.leg); if (c && e.page !== this.page) this.drop(e.leg, "elsewhere"); }
    else if (e.type === "call.ended") this.drop(e.leg, e.cause);
    else if (e.type === "call.hold") this.held(e.leg, e.on);
    return true;
  }

  async answer(offer) {
    const pc = new RTCPeerConnection({ iceServers: [] });
    const call = { pc, stream: null, box: this.render(offer), started: null, timer: null, muted: false, held: false };
    this.calls.set(offer.leg, call);
    call.events = this.transcribe(offer.conversation, call.box.querySelector(".transcript"));
    pc.ontrack = (ev) => { this.audio.srcObject = ev.streams[0] || new MediaStream([ev.track]); this.audio.play().catch(() => {}); };
    pc.onconnectionstatechange = () => { call.box.dataset.state = pc.connectionState; };
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      call.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
      call.stream.getTracks().forEach((tr) => pc.addTrack(tr, call.stream));
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.send({ type: "call.answer", leg: offer.leg, sdp: pc.localDescription.sdp });
    } catch (err) {
      console.error("softphone:", err);
      this.send({ type: "call.hangup", leg: offer.leg });
      this.drop(offer.leg, "no_microphone");
    }
    this.onChange();
  }

  connected(leg) {
    const c = this.calls.get(leg);
    if (!c) return;
    c.started = Date.now();
    c.box.dataset.connected = "true";
    c.timer = setInterval(() => {
      const s = Math.floor((Date.now() - c.started) / 1000);
      c.box.querySelector(".timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    }, 1000);
  }

  // The server confirms the call is on hold (or not any more).
  held(leg, on) {
    const c = this.calls.get(leg);
    if (!c) return;
    c.held = on;
    if (on) c.box.dataset.held = "true"; else delete c.box.dataset.held;
    c.box.querySelector(".hold").textContent = this.t(on ? "resume" : "hold");
    c.box.querySelector(".held").hidden = !on;
  }

  /** The transfer choices: queues, then the other agents with their state. */
  fillTargets(select) {
    const group = (label, options) => {
      const g = document.createElement("optgroup");
      g.label = this.t(label);
      g.append(...options);
      select.append(g);
    };
    this.queues().then((names) => group("queues", names.map((n) => new Option(n, `queue:${n}`)))).catch(() => {})
      .then(() => this.agents())
      .then((list) => group("agents", list.map((a) => new Option(`${a.name} (${this.t(a.state)})`, `agent:${a.name}`))))
      .catch(() => {});
  }

  hangup(leg) {
    this.send({ type: "call.hangup", leg });
    this.drop(leg, "agent_hangup");
  }

  drop(leg, cause) {
    const c = this.calls.get(leg);
    if (!c) return;
    clearInterval(c.timer);
    c.pc.close();
    c.events?.close();
    c.stream?.getTracks().forEach((tr) => tr.stop());
    c.box.dataset.ended = cause || "ended";
    c.box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    this.calls.delete(leg);
    setTimeout(() => c.box.remove(), 3000);
    this.onChange();
  }

  // Follows the conversation's events and shows its transcript pieces in call order.
  transcribe(conversation, list) {
    if (!conversation) return null;
    const proto = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${proto}://${location.host}/api/v1/events?conversation_id=${conversation}`);
    ws.onmessage = (m) => {
      const e = JSON.parse(m.data);
      const p = e.payload;
      if (!p || p.type !== "transcript") return;
      const li = document.createElement("li");
      li.className = p.speaker;
      li.dataset.start = p.start_ms;
      const who = document.createElement("b");
      who.textContent = `${this.t(p.speaker === "agent" ? "you" : "caller")}: `;
      li.append(who, document.createTextNode(p.text));
      const after = [...list.children].find((x) => Number(x.dataset.start) > p.start_ms);
      list.insertBefore(li, after || null);
      list.scrollTop = 1e9;
    };
    return ws;
  }

  render(offer) {
    const box = document.createElement("div");
    box.className = "call";
    box.dataset.leg = offer.leg;
    box.dataset.conversation = offer.conversation;
    const who = document.createElement("strong");
    who.textContent = `☎ ${offer.caller}`;
    const timer = document.createElement("span");
    timer.className = "timer";
    timer.textContent = "0:00";
    const mute = document.createElement("button");
    mute.className = "mute";
    mute.textContent = this.t("mute");
    mute.onclick = () => {
      const c = this.calls.get(offer.leg);
      if (!c || !c.stream) return;
      c.muted = !c.muted;
      c.stream.getAudioTracks().forEach((tr) => { tr.enabled = !c.muted; });
      mute.textContent = this.t(c.muted ? "unmute" : "mute");
    };
    const hold = document.createElement("button");
    hold.className = "hold";
    hold.textContent = this.t("hold");
    hold.onclick = () => {
      const c = this.calls.get(offer.leg);
      if (c) this.send({ type: "call.hold", leg: offer.leg, on: !c.held });
    };
    const held = document.createElement("span");
    held.className = "held";
    held.textContent = `⏸ ${this.t("on_hold")}`;
    held.hidden = true;
    const keypad = document.createElement("div");
    keypad.className = "keypad";
    for (const d of "123456789*0#") {
      const k = document.createElement("button");
      k.textContent = d;
      k.onclick = () => this.send({ type: "call.dtmf", leg: offer.leg, digit: d });
      keypad.append(k);
    }
    const transfer = document.createElement("form");
    transfer.className = "transfer";
    const target = document.createElement("select");
    target.name = "queue";
    const number = document.createElement("input");
    number.name = "number";
    number.type = "tel";
    number.placeholder = this.t("or_number");
    number.autocomplete = "off";
    const go = document.createElement("button");
    go.textContent = this.t("transfer");
    transfer.append(target, number, go);
    this.fillTargets(target);
    transfer.onsubmit = (ev) => {
      ev.preventDefault();
      const to = number.value.trim();
      const [kind, name] = target.value.split(":", 2);
      if (to) this.send({ type: "call.transfer", leg: offer.leg, number: to });
      else if (kind === "agent") this.send({ type: "call.transfer", leg: offer.leg, agent: name });
      else if (kind === "queue") this.send({ type: "call.transfer", leg: offer.leg, queue: name });
    };
    const end = document.createElement("button");
    end.className = "hangup";
    end.textContent = this.t("hangup");
    end.onclick = () => this.hangup(offer.leg);
    const transcript = document.createElement("ol");
    transcript.className = "transcript";
    box.append(who, held, timer, mute, hold, end, transfer, keypad, transcript);
    this.panel.prepend(box);
    return box;
  }
}
