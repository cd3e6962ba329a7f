// The agent answers a phone call in the workspace's softphone: the voice offer
// rings in the inbox, the agent accepts, the page answers the server's WebRTC
// offer with its (fake) microphone, audio flows both ways, and the caller hangs up.
import { agentOnPhone, artifacts, check, answer } from "./lib.mjs";

await agentOnPhone(async (page) => {
  await answer(page);
  await page.waitForTimeout(3000);
  await page.screenshot({ path: `${artifacts()}/workspace-call.png`, fullPage: true });
  const stats = await page.evaluate(async () => {
    const out = { received: 0, sent: 0, codec: "" };
    for (const c of window.switchboard.softphone.calls.values()) {
      (await c.pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") out.received += s.packetsReceived;
        if (s.type === "outbound-rtp" && s.kind === "audio") out.sent += s.packetsSent;
        if (s.type === "codec") out.codec = s.mimeType;
      });
    }
    return out;
  });
  console.log("browser stats", JSON.stringify(stats));
  check(stats.received > 50, `the browser received the caller's audio: ${JSON.stringify(stats)}`);
  check(stats.sent > 50, `the browser sent the agent's audio: ${JSON.stringify(stats)}`);
  check(stats.codec === "audio/PCMA", `G.711 A-law end to end, no transcoding: ${stats.codec}`);
  // The caller hangs up: the call panel ends.
  await page.locator("#calls .call[data-ended]").waitFor({ timeout: 40000 });
  console.log("softphone test passed");
});
