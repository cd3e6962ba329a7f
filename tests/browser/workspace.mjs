// The agent signs in, finds a customer by phone, sees their timeline, and sees a
// new event arrive live without reloading.
import { launch, artifacts, need, check } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch();
try {
  const page = await browser.newPage({ locale: "en-US" });
  page.on("pageerror", (e) => { console.error("page error:", e); process.exitCode = 1; });
  await page.goto(base + "/");
  await page.fill("#login input[name=name]", need("AGENT_NAME"));
  await page.fill("#login input[name=password]", "not-the-password");
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#login-error:text('Wrong name or password')");
  await page.fill("#login input[name=password]", need("AGENT_PASSWORD"));
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#workspace:not([hidden])");
  check(!(await page.locator("#login").isVisible()), "the sign-in form is gone after signing in");
  await page.fill("#search input[name=q]", "13800138000");
  await page.click("#search button");
  await page.click("#results li:has-text('Li Lei')");
  await page.waitForSelector("#timeline li.message");
  const before = await page.locator("#timeline li").count();
  check(before >= 1, "timeline shows the stored events");
  // A new event appended through the API appears live.
  const res = await fetch(`${base}/api/v1/customers/${need("CUSTOMER_ID")}/timeline`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${need("AGENT_TOKEN")}` },
    body: JSON.stringify({ payload: { type: "note", author: "ann", text: "live note <b>not bold</b>" } }),
  });
  check(res.status === 201, `append answered ${res.status}`);
  await page.waitForSelector("#timeline li.note:has-text('live note')");
  check(await page.locator("#timeline li.note b").count() === 0, "text is never rendered as HTML");
  await page.selectOption("#lang", "zh");
  await page.waitForSelector("h3:text('时间线')");
  await page.screenshot({ path: `${artifacts()}/workspace-timeline.png`, fullPage: true });
  console.log("workspace test passed");
} finally {
  await browser.close();
}
