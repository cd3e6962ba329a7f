// The click-to-call page: a customer calls the hotline from the browser. The call
// is SIP over WebSocket to this server (`sipws.js`) with WebRTC audio, and enters
// the same dialplan as a phone call to the number in `?number=` (default 4000,
// the demo hotline). A keypad sends keys for the IVR menus. Plain ES module.

import { $, languages } from "/ui/page.js";
import { SipCall } from "/ui/sipws.js";

const L = languages({
  en: { title: "Call us from your browser", idle: "Press Call to talk to us. Your browser will ask for the microphone.",
        call: "Call", hangup: "Hang up", connecting: "Connecting…", ringing: "Ringing…", connected: "Connected",
        ended: "Call ended.", failed: "The call did not go through ({status} {reason}).",
        no_mic: "No microphone: allow it in the browser and try again.", lost: "The connection was lost." },
  zh: { title: "在浏览器中直接呼叫我们", idle: "点击“呼叫”与我们通话。浏览器会请求使用麦克风。",
        call: "呼叫", hangup: "挂断", connecting: "正在连接…", ringing: "正在振铃…", connected: "通话中",
        ended: "通话已结束。", failed: "呼叫未接通（{status} {reason}）。",
        no_mic: "无法使用麦克风：请在浏览器中允许后重试。", lost: "连接已断开。" },
});
const t = L.t;

const params = new URLSearchParams(location.search);
const number = /^[0-9*#+]{1,32}$/.test(params.get("number") || "") ? params.get("number") : "4000";

/** A stable anonymous id for this browser, so repeat calls find the same customer. */
function visitor() {
  let id = localStorage.getItem("switchboard.caller");
  if (!id) { id = crypto.randomUUID().replace(/-/g, "").slice(0, 16); localStorage.setItem("switchboard.caller", id); }
  return id;
}

let current = null;
let started = null;
let ticker = null;

function show(state, text) {
  $("#phone").dataset.state = state;
  $("#status").textContent = text;
  const active = state === "calling" || state === "connected";
  $("#dial").disabled = active;
  $("#hangup").disabled = !active;
}

function tick() {
  const s = Math.floor((Date.now() - started) / 1000);
  $("#timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function stopped(text) {
  clearInterval(ticker);
  current = null;
  show("ended", text);
}

async function dial() {
  let mic;
  try {
    mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch {
    return show("ended", t("no_mic"));
  }
  show("calling", t("connecting"));
  const pc = new RTCPeerConnection();
  mic.getTracks().forEach((track) => pc.addTrack(track, mic));
  pc.ontrack = (e) => { $("#remote").srcObject = e.streams[0] || new MediaStream([e.track]); };
  pc.onconnectionstatechange = () => { if (pc.connectionState === "failed" && current) current.hangup(); };
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  current = new SipCall({
    url: `${scheme}://${location.host}/sip`, host: location.hostname, number,
    user: `web-${visitor()}`, displayName: "Web caller", pc,
    on: {
      progress: (status) => { if (status >= 180) show("calling", t("ringing")); },
      answered: () => { started = Date.now(); ticker = setInterval(tick, 1000); show("connected", t("connected")); },
      ended: (reason) => { mic.getTracks().forEach((tr) => tr.stop()); stopped(t(reason === "connection_lost" ? "lost" : "ended")); },
      failed: (status, reason) => { mic.getTracks().forEach((tr) => tr.stop()); stopped(t("failed", { status, reason })); },
    },
  });
  window.switchboardCall = current;
  try {
    await current.start();
  } catch {
    current?.close();
    stopped(t("lost"));
  }
}

$("#dial").addEventListener("click", dial);
$("#hangup").addEventListener("click", () => current?.hangup());
$("#keypad").addEventListener("click", (e) => {
  if (e.target.tagName === "BUTTON") current?.dtmf(e.target.textContent.trim());
});
$("#lang").addEventListener("change", (e) => L.set(e.target.value));
addEventListener("pagehide", () => current?.hangup());
L.apply();
