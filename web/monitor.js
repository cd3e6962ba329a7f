// The supervisor's side of call monitoring: a socket to /api/v1/supervisor/ws,
// and one WebRTC peer connection per monitored call (the server offers, this
// page answers with its microphone, which only whisper and barge let anyone
// hear). Plain ES module, no build step.

export class Monitor {
  /** `onChange({state, agent, mode, reason})` is told of every change. */
  constructor(onChange) {
    this.onChange = onChange;
    this.pc = null;
    this.agent = null;
    this.mode = null;
    this.queue = [];
    this.audio = new Audio();
    this.audio.autoplay = true;
    this.connect();
  }

  connect() {
    const proto = location.protocol === "https:" ? "wss" : "ws";
    this.ws = new WebSocket(`${proto}://${location.host}/api/v1/supervisor/ws`);
    this.ws.onopen = () => { this.queue.splice(0).forEach((m) => this.ws.send(m)); };
    this.ws.onmessage = (m) => this.handle(JSON.parse(m.data));
    this.ws.onclose = () => { this.ended("connection_lost"); setTimeout(() => this.connect(), 2000); };
  }

  send(msg) {
    const text = JSON.stringify(msg);
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text); else this.queue.push(text);
  }

  /** Listen to, whisper to or barge into `agent`'s call (or change the mode). */
  start(agent, mode) {
    if (this.agent && this.agent !== agent) this.close();
    this.agent = agent;
    this.mode = mode;
    this.onChange({ state: "connecting", agent, mode });
    this.send({ type: "monitor.start", agent, mode });
  }

  stop() {
    if (!this.agent) return;
    this.send({ type: "monitor.stop" });
    this.ended("stopped");
  }

  async handle(e) {
    if (e.type === "monitor.offer") await this.answer(e);
    else if (e.type === "monitor.mode") { this.mode = e.mode; this.onChange({ state: "connected", agent: this.agent, mode: e.mode }); }
    else if (e.type === "monitor.ended") this.ended(e.reason);
    else if (e.type === "error") this.onChange({ state: "error", agent: this.agent, mode: this.mode, reason: e.error });
  }

  async answer(e) {
    this.close();
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.ontrack = (ev) => { this.audio.srcObject = ev.streams[0] || new MediaStream([ev.track]); };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected") this.onChange({ state: "connected", agent: this.agent, mode: this.mode });
      if (pc.connectionState === "failed") this.ended("media_failed");
    };
    await pc.setRemoteDescription({ type: "offer", sdp: e.sdp });
    try {
      const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      mic.getTracks().forEach((t) => pc.addTrack(t, mic));
    } catch { /* listening needs no microphone */ }
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    this.send({ type: "monitor.answer", sdp: pc.localDescription.sdp });
  }

  close() {
    if (!this.pc) return;
    this.pc.getSenders().forEach((s) => s.track && s.track.stop());
    this.pc.close();
    this.pc = null;
  }

  ended(reason) {
    this.close();
    const agent = this.agent;
    this.agent = null;
    this.mode = null;
    this.onChange({ state: "idle", agent, reason });
  }
}
