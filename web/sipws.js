// A minimal SIP user agent over WebSocket (RFC 7118) for one outgoing call from
// the browser: INVITE with the WebRTC offer (ICE gathered first, no trickle),
// ACK, CANCEL, BYE, key presses as INFO application/dtmf-relay, and answers to
// the server's BYE, INFO and OPTIONS. Plain ES module, no build step.

const rand = (n = 10) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => (b % 36).toString(36)).join("");
const bytes = (s) => new TextEncoder().encode(s).length;

/** Parses one SIP message: {request, method, uri, status, reason, headers (lower-case name → [values]), body}. */
export function parse(text) {
  const cut = text.indexOf("\r\n\r\n");
  const head = (cut < 0 ? text : text.slice(0, cut)).split("\r\n");
  const body = cut < 0 ? "" : text.slice(cut + 4);
  const first = head.shift() || "";
  const headers = {};
  for (const line of head) {
    const colon = line.indexOf(":");
    if (colon < 1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const long = { v: "via", f: "from", t: "to", i: "call-id", m: "contact", l: "content-length", c: "content-type" }[name] || name;
    (headers[long] ||= []).push(line.slice(colon + 1).trim());
  }
  const m = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(first);
  if (m) return { request: false, status: Number(m[1]), reason: m[2], headers, body };
  const [method, uri] = first.split(" ");
  return { request: true, method, uri, headers, body };
}

const one = (msg, name) => (msg.headers[name] || [])[0] || "";
const uriOf = (nameAddr) => (/<([^>]+)>/.exec(nameAddr) || [null, nameAddr.split(";")[0]])[1];
const tagOf = (nameAddr) => (/;\s*tag=([^;>\s]+)/i.exec(nameAddr.replace(/<[^>]*>/, "")) || [])[1] || null;

/**
 * One call to `number` on the server this page came from. Events, through the
 * callbacks in `on`: progress(status), answered(), ended(reason), failed(status, reason).
 */
export class SipCall {
  constructor({ url, host, number, user, displayName, pc, on }) {
    Object.assign(this, { url, host, number, user, displayName, pc, on });
    this.callId = rand(16);
    this.localTag = rand(8);
    this.viaHost = `${rand(12)}.invalid`;
    this.cseq = 1;
    this.inviteBranch = null;
    this.remoteTag = null;
    this.target = `sip:${number}@${host}`;
    this.state = "idle"; // idle → calling → early → confirmed → ended
  }

  /** Opens the socket and sends the INVITE with the peer connection's offer. */
  async start() {
    this.ws = new WebSocket(this.url, "sip");
    await new Promise((ok, fail) => {
      this.ws.onopen = ok;
      this.ws.onerror = () => fail(new Error("websocket"));
    });
    this.ws.onmessage = (e) => this.receive(parse(String(e.data)));
    this.ws.onclose = () => { if (this.state !== "ended") this.finish("connection_lost"); };
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    await gathered(this.pc);
    this.inviteBranch = `z9hG4bK${rand(12)}`;
    this.state = "calling";
    this.send(this.request("INVITE", this.target, this.cseq, this.inviteBranch,
      ["Content-Type: application/sdp"], this.pc.localDescription.sdp));
  }

  /** Hangs up: CANCEL before the answer, BYE after it. */
  hangup() {
    if (this.state === "calling" || this.state === "early") {
      this.send(this.request("CANCEL", this.target, 1, this.inviteBranch, [], "", "CANCEL"));
      this.state = "cancelling";
    } else if (this.state === "confirmed") {
      this.send(this.request("BYE", this.target, ++this.cseq, `z9hG4bK${rand(12)}`));
      this.finish("hangup");
    }
  }

  /** Sends a key as SIP INFO (application/dtmf-relay). */
  dtmf(key) {
    if (this.state !== "confirmed" || !/^[0-9*#]$/.test(key)) return;
    this.send(this.request("INFO", this.target, ++this.cseq, `z9hG4bK${rand(12)}`,
      ["Content-Type: application/dtmf-relay"], `Signal=${key}\r\nDuration=160\r\n`));
  }

  request(method, uri, cseq, branch, extra = [], body = "", cseqMethod = method) {
    const to = `<sip:${this.number}@${this.host}>` + (this.remoteTag && method !== "CANCEL" ? `;tag=${this.remoteTag}` : "");
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/WSS ${this.viaHost};branch=${branch}`,
      "Max-Forwards: 70",
      `From: "${this.displayName.replace(/["\\\r\n]/g, "")}" <sip:${this.user}@${this.host}>;tag=${this.localTag}`,
      `To: ${to}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${cseqMethod}`,
      `Contact: <sip:${this.user}@${this.viaHost};transport=ws>`,
      "Allow: INVITE, ACK, CANCEL, BYE, INFO, OPTIONS",
      "User-Agent: Switchboard click-to-call",
      ...extra,
      `Content-Length: ${bytes(body)}`,
      "",
      body,
    ].join("\r\n");
  }

  send(text) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
  }

  receive(msg) {
    if (msg.request) return this.serve(msg);
    const [, method] = one(msg, "cseq").split(/\s+/);
    if (method === "INVITE") this.inviteResponse(msg);
  }

  inviteResponse(msg) {
    if (msg.status < 200) {
      if (this.state === "calling" && msg.status > 100) this.state = "early";
      this.on.progress?.(msg.status);
      return;
    }
    this.remoteTag = tagOf(one(msg, "to"));
    if (msg.status < 300) {
      const contact = uriOf(one(msg, "contact"));
      if (contact) this.target = contact;
      // Every 2xx (also a retransmission) gets an ACK; the first one connects.
      this.send(this.request("ACK", this.target, 1, `z9hG4bK${rand(12)}`, [], "", "ACK"));
      if (this.state === "calling" || this.state === "early") {
        this.state = "confirmed";
        this.pc.setRemoteDescription({ type: "answer", sdp: msg.body })
          .then(() => this.on.answered?.())
          .catch(() => this.hangup());
      } else if (this.state === "cancelling") {
        this.state = "confirmed";
        this.hangup();
      }
      return;
    }
    // A final failure: the ACK belongs to the INVITE's transaction (same branch).
    this.send(this.request("ACK", `sip:${this.number}@${this.host}`, 1, this.inviteBranch, [], "", "ACK"));
    if (this.state === "cancelling") return this.finish("cancelled");
    this.state = "ended";
    this.on.failed?.(msg.status, msg.reason);
    this.close();
  }

  /** Requests from the server: BYE ends the call; INFO and OPTIONS are answered. */
  serve(msg) {
    if (msg.method === "ACK") return;
    const ok = ["BYE", "INFO", "OPTIONS"].includes(msg.method);
    const status = ok ? "200 OK" : "501 Not Implemented";
    const lines = [`SIP/2.0 ${status}`];
    for (const v of msg.headers.via || []) lines.push(`Via: ${v}`);
    for (const name of ["from", "to", "call-id", "cseq"]) lines.push(`${name === "call-id" ? "Call-ID" : name === "cseq" ? "CSeq" : name[0].toUpperCase() + name.slice(1)}: ${one(msg, name)}`);
    lines.push("Content-Length: 0", "", "");
    this.send(lines.join("\r\n"));
    if (msg.method === "BYE") this.finish("remote_hangup");
  }

  finish(reason) {
    if (this.state === "ended") return;
    this.state = "ended";
    this.on.ended?.(reason);
    setTimeout(() => this.close(), 500);
  }

  close() {
    try { this.pc.close(); } catch { /* already closed */ }
    try { this.ws.close(); } catch { /* already closed */ }
  }
}

/** Resolves once ICE gathering is complete (or after two seconds with what there is). */
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(done, 2000);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(timer); done(); }
    });
  });
}
