// A visitor chats through the widget; the agent, available in the workspace, gets
// the offer in the inbox, accepts, reads the message, replies, and wraps up.
import { launch, artifacts, need, check } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const browser = await launch();
try {
  const agentPage = await (await browser.newContext({ locale: "en-US" })).newPage();
  agentPage.on("pageerror", (e) => { console.error("agent page error:", e); process.exitCode = 1; });
  await agentPage.goto(base + "/");
  await agentPage.fill("#login input[name=name]", need("AGENT_NAME"));
  await agentPage.fill("#login input[name=password]", need("AGENT_PASSWORD"));
  await agentPage.click("#login button[type=submit]");
  await agentPage.waitForSelector("#agentbar:not([hidden])");
  await agentPage.selectOption("#presence", "available");
  await agentPage.waitForSelector("#status[data-state=available]");

  const visitor = await (await browser.newContext({ locale: "en-US" })).newPage();
  visitor.on("pageerror", (e) => { console.error("visitor page error:", e); process.exitCode = 1; });
  await visitor.goto(base + "/ui/demo-chat.html");
  const w = visitor.locator("#switchboard-chat");
  await w.locator(".btn").click();
  await w.locator(".pre [name=name]").fill("Wang Fang");
  await w.locator(".pre button").click();
  await w.locator(".compose [name=text]").fill("I was charged twice");
  await w.locator(".compose button").click();

  const offer = agentPage.locator("#offers li.offer.chat");
  await offer.waitFor({ timeout: 15000 });
  await offer.locator("button.accept").click();
  const chat = agentPage.locator("#work .chat");
  await chat.locator(".thread p.in:has-text('charged twice')").waitFor();
  await chat.locator("input[name=text]").fill("Sorry about that, refunding now.");
  await chat.locator("button:has-text('Send')").click();
  await w.locator(".msg.out:has-text('refunding now')").waitFor({ timeout: 15000 });
  await chat.locator(".thread p.out:has-text('refunding now')").waitFor();
  await agentPage.screenshot({ path: `${artifacts()}/workspace-chat.png`, fullPage: true });
  const conversation = await chat.getAttribute("data-conversation");
  await chat.locator("button.wrapup").click();
  await chat.waitFor({ state: "detached" });
  const res = await fetch(`${base}/api/v1/conversations/${conversation}`, { headers: { authorization: `Bearer ${need("AGENT_TOKEN")}` } });
  const conv = await res.json();
  check(conv.status === "resolved" && conv.disposition === "answered", `conversation wrapped up: ${JSON.stringify(conv)}`);
  console.log("inbox test passed");
} finally {
  await browser.close();
}
