// A browser that disappears mid-call: ann answers the call, then her page is
// closed (a crash, a closed tab); the caller hears music on hold, goes back to the
// front of the support queue, and bob, who became available, gets the offer,
// answers and hears the caller.
import { launch, artifacts, need, check } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch([`--use-file-for-fake-audio-capture=${need("AGENT_VOICE_WAV")}`]);

async function signIn(name, password, presence) {
  const ctx = await browser.newContext({ locale: "en-US" });
  await ctx.grantPermissions(["microphone"], { origin: base });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => { console.error(`${name} page error:`, e); process.exitCode = 1; });
  await page.goto(base + "/");
  await page.fill("#login input[name=name]", name);
  await page.fill("#login input[name=password]", password);
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#agentbar:not([hidden])");
  await page.selectOption("#presence", presence);
  await page.waitForSelector(`#status[data-state=${presence.split(":")[0]}]`);
  return page;
}

async function answer(page) {
  const offer = page.locator("#offers li.offer.voice");
  await offer.waitFor({ timeout: 45000 });
  await offer.locator("button.accept").click();
  await page.locator("#calls .call[data-connected=true]").waitFor({ timeout: 15000 });
}

// Waits up to 10 s for the caller's audio to reach `page`; returns the packet count.
async function hears(page, min) {
  let n = 0;
  for (let i = 0; i < 50 && n <= min; i++) { await page.waitForTimeout(200); n = await received(page); }
  return n;
}

async function received(page) {
  return page.evaluate(async () => {
    let n = 0;
    for (const c of window.switchboard.softphone.calls.values()) {
      (await c.pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") n += s.packetsReceived; });
    }
    return n;
  });
}

try {
  const ann = await signIn("ann", need("ANN_PASSWORD"), "available");
  const bob = await signIn("bob", need("BOB_PASSWORD"), "away:break");
  console.log("READY");
  await answer(ann);
  check(await hears(ann, 20) > 20, "ann hears the caller");
  await bob.selectOption("#presence", "available");
  await bob.waitForSelector("#status[data-state=available]");
  await ann.context().close();
  await answer(bob);
  const n = await hears(bob, 50);
  console.log("bob received", n);
  check(n > 50, `bob hears the caller after ann's page was lost: ${n} packets`);
  await bob.screenshot({ path: `${artifacts()}/workspace-requeued-call.png`, fullPage: true });
  await bob.locator("#calls .call[data-ended]").waitFor({ timeout: 40000 });
  console.log("lost browser test passed");
} finally {
  await browser.close();
}
