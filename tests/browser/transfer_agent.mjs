// Blind transfer to a named agent: ann answers the call and transfers it to bob
// by name. Cy, also free in the same queue and idle for longer, is not offered
// it: the call is reserved for bob, who answers and hears the caller.
import { launch, artifacts, need, check, signIn, answer, hears } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch([`--use-file-for-fake-audio-capture=${need("AGENT_VOICE_WAV")}`]);

/** Cy's side, through the API with her token. */
async function cy(method, path, body) {
  const res = await fetch(`${base}/api/v1/agents/${need("CY_ID")}${path}`, {
    method, headers: { authorization: `Bearer ${need("CY_TOKEN")}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  check(res.ok, `${method} ${path} as cy: ${res.status}`);
  return res.json();
}

try {
  const ann = await signIn(browser, base, "ann", need("ANN_PASSWORD"), "available");
  const bob = await signIn(browser, base, "bob", need("BOB_PASSWORD"), "available");
  console.log("READY");
  // The call rings ann or bob; whoever has it transfers it to the other by name.
  const first = await Promise.race([ann, bob].map((p) =>
    p.locator("#offers li.offer.voice").waitFor({ timeout: 45000 }).then(() => p)));
  const [from, to, toName] = first === ann ? [ann, bob, "bob"] : [bob, ann, "ann"];
  await answer(from);
  check(await hears(from, 20) > 20, "the first agent hears the caller");
  await cy("PUT", "/state", { state: "available" });
  const call = from.locator("#calls .call").first();
  await call.locator(`form.transfer select option[value="agent:${toName}"]`).waitFor({ state: "attached" });
  await call.locator("form.transfer select").selectOption(`agent:${toName}`);
  await call.locator("form.transfer button").click();
  await from.locator("#calls .call[data-ended=transferred]").waitFor({ timeout: 10000 });
  await answer(to);
  const n = await hears(to, 50);
  check(n > 50, `${toName} hears the caller after the transfer: ${n} packets`);
  const cyOffers = await cy("GET", "/offers");
  check(cyOffers.items.length === 0, `cy was not offered the call: ${JSON.stringify(cyOffers)}`);
  await to.screenshot({ path: `${artifacts()}/workspace-transferred-to-agent.png`, fullPage: true });
  await to.locator("#calls .call[data-ended]").waitFor({ timeout: 40000 });
  console.log(`transfer to ${toName} by name passed`);
} finally {
  await browser.close();
}
