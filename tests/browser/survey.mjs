// The agent answers a call in the softphone and hangs up first; the caller stays
// on the line for the dialplan's survey.
import { agentOnPhone, answer } from "./lib.mjs";

await agentOnPhone(async (page) => {
  await answer(page);
  await page.waitForTimeout(2000);
  await page.locator("#calls .call button.hangup").click();
  await page.locator("#calls .call[data-ended]").waitFor({ timeout: 10000 });
  console.log("survey test: agent hung up");
});
