// An admin edits the demo hotline in the dialplan editor: the flow is drawn as
// boxes and labelled arrows, a broken edit is refused
// with its problem at line:col (clicking it selects the line), the fixed edit is
// saved and in force, the history shows the original and the edit with a diff,
// and a rollback restores the original.
import { launch, artifacts, need, check } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch([]);
try {
  const page = await (await browser.newContext({ locale: "en-US" })).newPage();
  page.on("pageerror", (e) => { console.error("page error:", e); process.exitCode = 1; });
  page.on("dialog", (d) => d.accept());
  await page.goto(base + "/");
  await page.fill("#login input[name=name]", need("ADMIN_NAME"));
  await page.fill("#login input[name=password]", need("ADMIN_PASSWORD"));
  await page.click("#login button[type=submit]");
  // The header links admins to the editor.
  await page.locator("#dialplans-link:not([hidden])").click();
  await page.waitForURL("**/ui/dialplans.html");
  await page.locator("#plans li[data-plan=hotline]").click();
  const area = page.locator("#text");
  await page.waitForFunction(() => document.querySelector("#text").value.includes("name: hotline"));
  const original = await area.inputValue();

  // The flow is drawn: the start step, the menu's key 2 to the support queue, and
  // what follows the agent; clicking a box selects its line.
  await page.locator("#flow g.step.start[data-step=welcome]").waitFor({ timeout: 10000 });
  const edges = page.locator('#flow g.edge[data-from=main][data-to=support][data-label="2"]');
  check(await edges.count() === 1, "an arrow from the main menu to support, labelled 2");
  check(await page.locator('#flow g.edge[data-from=support][data-to=survey][data-label="after agent"]').count() === 1,
    "after the agent, the survey");
  await page.locator("#flow g.step[data-step=survey]").click();
  const picked = await page.evaluate(() => {
    const a = document.querySelector("#text");
    return a.value.slice(a.selectionStart, a.selectionEnd);
  });
  check(picked.trim() === "survey:", `a click on a box selects its line: ${JSON.stringify(picked)}`);
  await page.screenshot({ path: `${artifacts()}/dialplan-editor-flow.png`, fullPage: true });

  // A reference to a step that does not exist: refused, with its place.
  await area.fill(original.replace("on_fail: operator", "on_fail: nowhere"));
  await page.click("#save");
  const problem = page.locator("#problems li.error", { hasText: "no step named `nowhere`" });
  await problem.waitFor({ timeout: 10000 });
  const where = (await problem.textContent()).split(" ")[0];
  const line = original.split("\n").findIndex((l) => l.includes("on_fail: operator")) + 1;
  check(where.startsWith(`${line}:`), `the problem is at line ${line}: ${where}`);
  await problem.click();
  const selected = await page.evaluate(() => {
    const a = document.querySelector("#text");
    return a.value.slice(a.selectionStart, a.selectionEnd);
  });
  check(selected.includes("nowhere"), `clicking the problem selects its line: ${JSON.stringify(selected)}`);
  check((await page.locator("#message").getAttribute("class")) === "error", "the save was refused");
  await page.screenshot({ path: `${artifacts()}/dialplan-editor-problem.png`, fullPage: true });

  // The fixed edit is saved.
  await area.fill(original.replace("timeout: 6", "timeout: 8"));
  await page.fill("#comment", "longer main menu timeout");
  await page.click("#save");
  await page.locator("#message.ok").waitFor({ timeout: 10000 });
  check(await page.locator("#plan-name").textContent() === "hotline", "no unsaved changes after the save");
  await page.locator("#versions li", { hasText: "longer main menu timeout" }).waitFor();
  check(await page.locator("#versions li").count() === 2, "history: the original from disk and the edit");

  // The original's diff against the file on disk, then roll back to it.
  await page.locator("#versions li", { hasText: "disk" }).click();
  // From that version to the file on disk now.
  await page.locator("#diff span.del", { hasText: "timeout: 6" }).waitFor();
  await page.locator("#diff span.add", { hasText: "timeout: 8" }).waitFor();
  await page.screenshot({ path: `${artifacts()}/dialplan-editor-history.png`, fullPage: true });
  await page.click("#rollback");
  await page.locator("#message.ok").waitFor({ timeout: 10000 });
  await page.waitForFunction((text) => document.querySelector("#text").value === text, original);
  console.log("dialplan editor test passed");
} finally {
  await browser.close();
}
