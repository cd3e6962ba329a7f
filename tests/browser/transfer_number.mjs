// The agent transfers a call to a phone number from the softphone: types the
// number in the transfer form and the call panel ends ("transferred") while the
// server puts the caller through the trunk.
import { agentOnPhone, artifacts, check, answer, hears, need } from "./lib.mjs";

await agentOnPhone(async (page) => {
  await answer(page);
  const heard = await hears(page, 20);
  check(heard > 20, `the agent hears the caller first: ${heard} packets`);
  const call = page.locator("#calls .call");
  await call.locator("form.transfer input[name=number]").fill(need("TRANSFER_NUMBER"));
  await page.screenshot({ path: `${artifacts()}/workspace-transfer-to-number.png`, fullPage: true });
  await call.locator("form.transfer button").click();
  await page.locator("#calls .call[data-ended=transferred]").waitFor({ timeout: 10000 });
  console.log("transfer to a number passed");
});
