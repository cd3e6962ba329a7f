// Blind transfer between two agents' softphones: ann answers the call, transfers
// it to the support queue, and bob, who became available, gets the offer, answers
// and hears the caller; ann's call panel ends as "transferred".
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
  const annCall = ann.locator("#calls .call").first();
  await annCall.locator("form.transfer select").selectOption("support");
  await annCall.locator("form.transfer button").click();
  await ann.locator("#calls .call[data-ended=transferred]").waitFor({ timeout: 10000 });
  await answer(bob);
  const n = await hears(bob, 50);
  console.log("bob received", n);
  check(n > 50, `bob hears the caller after the transfer: ${n} packets`);
  await bob.screenshot({ path: `${artifacts()}/workspace-transferred-call.png`, fullPage: true });
  await bob.locator("#calls .call[data-ended]").waitFor({ timeout: 40000 });
  console.log("transfer test passed");
} finally {
  await browser.close();
}
