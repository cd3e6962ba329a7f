// A customer calls the hotline from the click-to-call page: the page speaks SIP
// over WebSocket with WebRTC audio, the call runs the demo dialplan (keys 2 and 2
// from the page's keypad: English, support), the agent accepts the voice offer
// in the workspace, both browsers hear the other, and the customer hangs up.
import { launch, signIn, answer, received, artifacts, check, need } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const agentBrowser = await launch([`--use-file-for-fake-audio-capture=${need("AGENT_VOICE_WAV")}`]);
const callerBrowser = await launch([`--use-file-for-fake-audio-capture=${need("CALLER_VOICE_WAV")}`]);

/** Audio packets the click-to-call page has received and sent. */
async function callerStats(page) {
  return page.evaluate(async () => {
    const out = { received: 0, sent: 0, codec: "" };
    (await window.switchboardCall.pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") out.received += s.packetsReceived;
      if (s.type === "outbound-rtp" && s.kind === "audio") out.sent += s.packetsSent;
      if (s.type === "codec") out.codec = s.mimeType;
    });
    return out;
  });
}

try {
  const agent = await signIn(agentBrowser, base, "ann", need("AGENT_PASSWORD"));
  console.log("READY");
  const ctx = await callerBrowser.newContext({ locale: "en-US" });
  await ctx.grantPermissions(["microphone"], { origin: base });
  const caller = await ctx.newPage();
  caller.on("pageerror", (e) => { console.error("caller page error:", e); process.exitCode = 1; });
  // The SIP dialogue, first lines only, shown when the test fails.
  caller.on("websocket", (ws) => {
    ws.on("framesent", (f) => console.log("caller >", String(f.payload).split("\r\n")[0]));
    ws.on("framereceived", (f) => console.log("caller <", String(f.payload).split("\r\n")[0]));
  });
  await caller.goto(`${base}/call?number=4000`);
  await caller.evaluate((id) => localStorage.setItem("switchboard.caller", id), need("CALLER_ID"));
  await caller.click("#dial");
  await caller.locator("#phone[data-state=connected]").waitFor({ timeout: 15000 });
  // The IVR greets the caller: its prompt reaches the page.
  let heard = 0;
  for (let i = 0; i < 25 && heard < 25; i++) { await caller.waitForTimeout(200); heard = (await callerStats(caller)).received; }
  check(heard >= 25, `the caller hears the IVR: ${heard} packets`);
  await caller.click("#keypad button:text-is('2')");
  await caller.waitForTimeout(1500);
  await caller.click("#keypad button:text-is('2')");
  await answer(agent);
  const before = await callerStats(caller);
  const agentBefore = await received(agent);
  await caller.waitForTimeout(3000);
  const after = await callerStats(caller);
  const agentAfter = await received(agent);
  console.log("caller stats", JSON.stringify(after), "agent received", agentAfter);
  check(after.received - before.received > 100, `the caller hears the agent: ${JSON.stringify(after)}`);
  check(agentAfter - agentBefore > 100, `the agent hears the caller: ${agentAfter - agentBefore} packets`);
  check(after.codec === "audio/PCMU" || after.codec === "audio/PCMA", `G.711 to the caller's browser: ${after.codec}`);
  await caller.screenshot({ path: `${artifacts()}/click-to-call.png`, fullPage: true });
  await agent.screenshot({ path: `${artifacts()}/workspace-web-caller.png`, fullPage: true });
  await caller.click("#hangup");
  await caller.locator("#phone[data-state=ended]").waitFor({ timeout: 10000 });
  await agent.locator("#calls .call[data-ended]").waitFor({ timeout: 15000 });
  console.log("click-to-call test passed");
} finally {
  await agentBrowser.close();
  await callerBrowser.close();
}
