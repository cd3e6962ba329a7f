// The agent talks with a caller in the softphone and reads the live transcript:
// the caller's words and the agent's own appear in the call panel while the call
// goes on.
import { launch, artifacts, need, check } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch([`--use-file-for-fake-audio-capture=${need("AGENT_VOICE_WAV")}`]);
try {
  const ctx = await browser.newContext({ locale: "en-US" });
  await ctx.grantPermissions(["microphone"], { origin: base });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => { console.error("agent page error:", e); process.exitCode = 1; });
  await page.goto(base + "/");
  await page.fill("#login input[name=name]", need("AGENT_NAME"));
  await page.fill("#login input[name=password]", need("AGENT_PASSWORD"));
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#agentbar:not([hidden])");
  await page.selectOption("#presence", "available");
  await page.waitForSelector("#status[data-state=available]");
  console.log("READY");

  const offer = page.locator("#offers li.offer.voice");
  await offer.waitFor({ timeout: 45000 });
  await offer.locator("button.accept").click();
  await page.locator("#calls .call[data-connected=true]").waitFor({ timeout: 15000 });
  const connected = Date.now();
  const caller = page.locator("#calls .call .transcript li.caller", { hasText: /order/i });
  const agent = page.locator("#calls .call .transcript li.agent", { hasText: /help/i });
  await caller.first().waitFor({ timeout: 30000 });
  await agent.first().waitFor({ timeout: 30000 });
  const ended = await page.locator("#calls .call[data-ended]").count();
  check(ended === 0, "the transcript showed while the call was up");
  console.log(`transcript within ${Date.now() - connected} ms of connecting:`,
    JSON.stringify(await page.locator("#calls .call .transcript li").allTextContents()));
  await page.screenshot({ path: `${artifacts()}/workspace-live-transcript.png`, fullPage: true });
  await page.locator("#calls .call[data-ended]").waitFor({ timeout: 40000 });
  console.log("live transcript test passed");
} finally {
  await browser.close();
}
