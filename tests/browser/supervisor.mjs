// A supervisor watches the live queues: the support queue's waiting count and the
// agent's state follow what happens (a chat arrives and is offered to ann).
import { launch, artifacts, need, check } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch([]);
try {
  const page = await (await browser.newContext({ locale: "en-US" })).newPage();
  page.on("pageerror", (e) => { console.error("page error:", e); process.exitCode = 1; });
  await page.goto(base + "/");
  await page.fill("#login input[name=name]", need("SUPERVISOR_NAME"));
  await page.fill("#login input[name=password]", need("SUPERVISOR_PASSWORD"));
  await page.click("#login button[type=submit]");
  await page.locator("#supervisor-link:not([hidden])").click();
  await page.waitForURL("**/ui/supervisor.html");
  await page.locator("#agents tr[data-agent=ann][data-state=available]").waitFor({ timeout: 10000 });
  const waiting = page.locator("#queues tr[data-queue=support] td.waiting");
  check((await waiting.textContent()) === "0", "nobody waits yet");
  console.log("READY");
  // The test posts a chat into support now: it waits and is offered to ann.
  await page.waitForFunction(
    () => document.querySelector("#queues tr[data-queue=support] td.waiting")?.textContent === "1",
    null, { timeout: 15000 });
  await page.locator("#agents tr[data-agent=ann][data-state=offered]").waitFor({ timeout: 10000 });
  await page.screenshot({ path: `${artifacts()}/supervisor.png`, fullPage: true });
  console.log("supervisor test passed");
} finally {
  await browser.close();
}
