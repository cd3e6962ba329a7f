// A browser that disappears mid-call: ann answers the call, then her page is
// closed (a crash, a closed tab); the caller hears music on hold, goes back to the
// front of the support queue, and bob, who became available, gets the offer,
// answers and hears the caller.
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
  await ann.context().close();
  await answer(bob);
  const n = await hears(bob, 50);
  console.log("bob received", n);
  check(n > 50, `bob hears the caller after ann's page was lost: ${n} packets`);
  await bob.screenshot({ path: `${artifacts()}/workspace-requeued-call.png`, fullPage: true });
  await bob.locator("#calls .call[data-ended]").waitFor({ timeout: 40000 });
  console.log("lost browser test passed");
} finally {
  await browser.close();
}
