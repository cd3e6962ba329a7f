// The agent holds a call and resumes it in the workspace's softphone: while the
// caller is on hold the page shows it and the agent hears nothing (the browser's
// inbound packet count stands still; the server plays music on hold to the
// caller), and after resuming the caller is heard again.
import { agentOnPhone, artifacts, check, answer, received, hears } from "./lib.mjs";

await agentOnPhone(async (page) => {
  await answer(page);
  const talking = await hears(page, 50);
  check(talking > 50, `the agent hears the caller before the hold: ${talking} packets`);
  await page.waitForTimeout(1000);

  const call = page.locator("#calls .call");
  await call.locator("button.hold").click();
  await page.locator("#calls .call[data-held]").waitFor({ timeout: 5000 });
  check(await call.locator(".held").isVisible(), "the call panel says the caller is on hold");
  await page.screenshot({ path: `${artifacts()}/workspace-call-on-hold.png`, fullPage: true });
  await page.waitForTimeout(300);
  const heldFrom = await received(page);
  await page.waitForTimeout(3000);
  const heldTo = await received(page);
  check(heldTo - heldFrom < 10, `nothing of the caller reaches the agent on hold: ${heldTo - heldFrom} packets`);

  await call.locator("button.hold").click();
  await page.waitForFunction(() => !document.querySelector("#calls .call[data-held]"), null, { timeout: 5000 });
  const after = await hears(page, heldTo + 50);
  check(after > heldTo + 50, `the caller is heard again after resuming: ${after - heldTo} packets`);
  await page.waitForTimeout(2000);

  await page.locator("#calls .call[data-ended]").waitFor({ timeout: 40000 });
  console.log("hold test passed");
});
