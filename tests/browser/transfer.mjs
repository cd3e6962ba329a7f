// Blind transfer between two agents' softphones: ann answers the call, transfers
// it to the support queue, and bob, who became available, gets the offer, answers
// and hears the caller; ann's call panel ends as "transferred".
import { launch, artifacts, need, check, signIn, answer, hears } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch([`--use-file-for-fake-audio-capture=${need("AGENT_VOICE_WAV")}`]);

try {
  const ann = await signIn(browser, base, "ann", need("ANN_PASSWORD"), "available");
  const bob = await signIn(browser, base, "bob", need("BOB_PASSWORD"), "away:break");
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
