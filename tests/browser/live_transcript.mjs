// The agent talks with a caller in the softphone and reads the live transcript:
// the caller's words and the agent's own appear in the call panel while the call
// goes on.
import { agentOnPhone, artifacts, check, answer } from "./lib.mjs";

await agentOnPhone(async (page) => {
  await answer(page);
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
});
