// The agent answers a call in the softphone and hangs up first; the caller stays
// on the line for the dialplan's survey.
import { launch, need, signIn, answer } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch([`--use-file-for-fake-audio-capture=${need("AGENT_VOICE_WAV")}`]);
try {
  const page = await signIn(browser, base, need("AGENT_NAME"), need("AGENT_PASSWORD"));
  console.log("READY");
  await answer(page);
  await page.waitForTimeout(2000);
  await page.locator("#calls .call button.hangup").click();
  await page.locator("#calls .call[data-ended]").waitFor({ timeout: 10000 });
  console.log("survey test: agent hung up");
} finally {
  await browser.close();
}
