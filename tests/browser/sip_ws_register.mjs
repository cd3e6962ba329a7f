// A real SIP over WebSocket client: JsSIP's user agent, run in Node with the
// `ws` package as its WebSocket, registers an agent's SIP account to the server
// at SIP_WS_URL. Prints one JSON line with the outcome, then READY; keeps the
// connection open until STOP_FILE exists (or 60 s pass) and then exits without
// unregistering, so the server sees the connection close.
import { existsSync } from "node:fs";
import JsSIP from "jssip";
import { WebSocket } from "ws";
import { need } from "./lib.mjs";

globalThis.WebSocket = WebSocket;

const url = need("SIP_WS_URL");
const user = need("SIP_USER");
const password = need("SIP_PASSWORD");
const stopFile = need("STOP_FILE");

const socket = new JsSIP.WebSocketInterface(url);
const ua = new JsSIP.UA({
  sockets: [socket],
  uri: `sip:${user}@${new URL(url).hostname}`,
  password,
  register: true,
  register_expires: 300,
  session_timers: false,
  user_agent: "JsSIP-in-Node (switchboard test)",
});

const result = await new Promise((resolve) => {
  const timer = setTimeout(() => resolve({ registered: false, cause: "timeout" }), 15000);
  ua.on("registered", (e) => {
    clearTimeout(timer);
    resolve({
      registered: true,
      status: e.response.status_code,
      contact: ua.contact.toString(),
      via_host: ua.configuration.via_host,
    });
  });
  ua.on("registrationFailed", (e) => {
    clearTimeout(timer);
    resolve({ registered: false, cause: e.cause, status: e.response?.status_code ?? null });
  });
  ua.start();
});
console.log(JSON.stringify(result));
console.log("READY");
if (!result.registered) process.exit(1);

const deadline = Date.now() + 60000;
while (!existsSync(stopFile) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 100));
}
// Leave without an un-REGISTER: the binding must go with the connection.
process.exit(existsSync(stopFile) ? 0 : 2);
