// Shared helpers for the browser tests: launch Debian's Chromium headless with
// fake media devices and without any background network traffic.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
      ...extraArgs,
    ],
  });
}

export function artifacts() {
  const dir = process.env.SWITCHBOARD_ARTIFACTS || "artifacts";
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** Fails the test with a message unless `cond` holds. */
export function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

/** Signs `name` in to the workspace in a fresh context (microphone allowed) and
 * sets their presence (`available` or `away:<reason>`); returns the page. */
export async function signIn(browser, base, name, password, presence = "available") {
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

/** Accepts the voice offer ringing on `page` and waits until the softphone is connected. */
export async function answer(page) {
  const offer = page.locator("#offers li.offer.voice");
  await offer.waitFor({ timeout: 45000 });
  await offer.locator("button.accept").click();
  await page.locator("#calls .call[data-connected=true]").waitFor({ timeout: 15000 });
}

/** Audio packets the softphone on `page` has received. */
export async function received(page) {
  return page.evaluate(async () => {
    let n = 0;
    for (const c of window.switchboard.softphone.calls.values()) {
      (await c.pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") n += s.packetsReceived; });
    }
    return n;
  });
}

/** Waits up to 10 s for more than `min` packets of the caller's audio on `page`. */
export async function hears(page, min) {
  let n = 0;
  for (let i = 0; i < 50 && n <= min; i++) { await page.waitForTimeout(200); n = await received(page); }
  return n;
}

/** The usual softphone test: Chromium whose microphone plays AGENT_VOICE_WAV, the
 * agent AGENT_NAME signed in at SWITCHBOARD_URL, READY printed for the test
 * (which then places its call), `body(page)` run, the browser closed. */
export async function agentOnPhone(body) {
  const browser = await launch([`--use-file-for-fake-audio-capture=${need("AGENT_VOICE_WAV")}`]);
  try {
    const page = await signIn(browser, need("SWITCHBOARD_URL"), need("AGENT_NAME"), need("AGENT_PASSWORD"));
    console.log("READY");
    await body(page);
  } finally {
    await browser.close();
  }
}
