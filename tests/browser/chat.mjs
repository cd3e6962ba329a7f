// A visitor chats through the embedded widget; connecting opens no conversation,
// the first message does; the agent's reply comes back; a reload keeps the history;
// a message typed while the server is down is delivered once after it comes back;
// when the agent resolves the conversation, the visitor rates it and the rating is
// in the timeline; a reload opens nothing, the next message opens a new conversation.
import { launch, artifacts, need, check } from "./lib.mjs";
import { writeFileSync, existsSync } from "node:fs";

const base = need("SWITCHBOARD_URL");
const token = need("AGENT_TOKEN");
const control = need("CONTROL_DIR"); // the Rust test restarts the server when asked here
const api = async (method, path, body) => {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: await res.json().catch(() => null) };
};
const waitFor = async (what, fn, ms = 15000) => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const browser = await launch();
try {
  // Nobody online: the widget offers a message answered by e-mail instead of chat.
  const away = await browser.newPage({ locale: "en-US" });
  await away.goto(base + "/ui/demo-chat.html");
  const aw = away.locator("#switchboard-chat");
  await aw.locator(".btn").click();
  await aw.locator(".pre [name=name]").fill("Lin Tao");
  await aw.locator(".pre [name=email]").fill("lin@example.com");
  await aw.locator(".pre button").click();
  await aw.locator(".leave").waitFor();
  check(await aw.locator(".compose").isHidden(), "no chat box while nobody is online");
  check(await aw.locator(".leave [name=email]").inputValue() === "lin@example.com", "e-mail taken from the pre-chat form");
  await aw.locator(".leave [name=text]").fill("Do you ship to Macau?");
  await aw.locator(".leave button").click();
  await aw.locator(".status:has-text('lin@example.com')").waitFor();
  const lin = (await api("GET", "/api/v1/customers?email=lin%40example.com")).body.items[0];
  const linConvs = (await api("GET", `/api/v1/conversations?customer_id=${lin.id}`)).body.items;
  check(linConvs.length === 1 && linConvs[0].channel === "email" && linConvs[0].subject === "Chat message from Lin Tao",
    `the offline message is an e-mail conversation: ${JSON.stringify(linConvs)}`);
  await away.close();
  // An agent comes online: chat as usual.
  const online = await fetch(`${base}/api/v1/agents/${need("AGENT_ID")}/state`, { method: "PUT",
    headers: { authorization: `Bearer ${need("ADMIN_TOKEN")}`, "content-type": "application/json" },
    body: JSON.stringify({ state: "available" }) });
  check(online.ok, `agent available: ${online.status}`);

  const page = await browser.newPage({ locale: "en-US" });
  page.on("pageerror", (e) => { console.error("page error:", e); process.exitCode = 1; });
  await page.goto(base + "/ui/demo-chat.html");
  const w = page.locator("#switchboard-chat");
  await w.locator(".btn").click();
  await w.locator(".pre [name=name]").fill("Han Meimei");
  await w.locator(".pre [name=email]").fill("han@example.com");
  await w.locator(".pre button").click();

  // Connected (the customer exists), but no conversation until the visitor writes.
  const found = await waitFor("the customer", async () => {
    const r = await api("GET", "/api/v1/customers?email=han%40example.com");
    return r.body?.items?.[0];
  });
  check(found.name === "Han Meimei", "customer named from the pre-chat form");
  const none = await api("GET", `/api/v1/conversations?customer_id=${found.id}`);
  check(none.body.items.length === 0, `no conversation before the first message: ${JSON.stringify(none.body)}`);
  await w.locator(".compose [name=text]").fill("Hello, my parcel is missing");
  await w.locator(".compose button").click();
  await w.locator(".msg.in:not(.pending)").first().waitFor();

  // The conversation is queued for the agents with the message in it.
  const convs = await api("GET", `/api/v1/conversations?customer_id=${found.id}`);
  const conv = convs.body.items[0];
  check(conv.channel === "chat" && conv.status === "queued" && conv.queue === "support", `conversation queued: ${JSON.stringify(conv)}`);
  const reply = await api("POST", `/api/v1/conversations/${conv.id}/messages`, { text: "Sorry to hear that! Let me check." });
  check(reply.status === 201, `reply stored: ${reply.status}`);
  await w.locator(".msg.out:has-text('Let me check')").waitFor();
  const answered = await api("GET", `/api/v1/conversations/${conv.id}`);
  check(answered.body.first_response_at, "first response time recorded");

  // Reload: history restored from the server, nothing doubled.
  await page.reload();
  await w.locator(".msg.out:has-text('Let me check')").waitFor();
  check(await w.locator(".msg.in:has-text('parcel is missing')").count() === 1, "history restored once");

  // Network drop: the server goes away, the visitor writes, the server comes back.
  writeFileSync(`${control}/stop`, "");
  await waitFor("server down", () => existsSync(`${control}/stopped`));
  await w.locator(".status").filter({ hasText: "reconnecting" }).waitFor();
  await w.locator(".compose [name=text]").fill("Are you still there?");
  await w.locator(".compose button").click();
  writeFileSync(`${control}/start`, "");
  await w.locator(".msg.in.pending").waitFor({ state: "detached", timeout: 30000 });
  const page2 = await api("GET", `/api/v1/customers/${found.id}/timeline`);
  const texts = page2.body.items.filter((e) => e.payload.type === "message").map((e) => e.payload.text);
  check(texts.filter((t) => t === "Are you still there?").length === 1, `message stored exactly once: ${JSON.stringify(texts)}`);
  check(texts.includes("Hello, my parcel is missing") && texts.includes("Sorry to hear that! Let me check."), "both messages in the timeline");
  await page.screenshot({ path: `${artifacts()}/chat-widget.png` });

  // The agent resolves the conversation: the visitor is asked for a rating and gives 4.
  const done = await api("PUT", `/api/v1/conversations/${conv.id}/status`, { status: "resolved" });
  check(done.status === 200, `resolved: ${done.status}`);
  await w.locator(".rate:not([hidden]) button[data-score='4']").click();
  await w.locator(".rate", { hasText: "Thank you" }).waitFor();
  const rated = await api("GET", `/api/v1/customers/${found.id}/timeline`);
  const csat = rated.body.items.filter((e) => e.payload.type === "csat");
  check(csat.length === 1 && csat[0].payload.score === 4 && csat[0].conversation_id === conv.id,
    `one rating of 4 on the conversation: ${JSON.stringify(csat)}`);

  // A reload opens nothing; the visitor's next message opens a new conversation.
  const welcomed = page.waitForEvent("websocket")
    .then((ws) => ws.waitForEvent("framereceived", { predicate: (f) => String(f.payload).includes('"type":"welcome"') }));
  await page.reload();
  const welcome = JSON.parse((await welcomed).payload);
  check(welcome.conversation === null && welcome.history.length === 0, `welcomed without a conversation: ${JSON.stringify(welcome)}`);
  const after = await api("GET", `/api/v1/conversations?customer_id=${found.id}`);
  check(after.body.items.length === 1 && after.body.items[0].status === "resolved", `still one resolved conversation: ${JSON.stringify(after.body)}`);
  await w.locator(".compose [name=text]").fill("One more thing");
  await w.locator(".compose button").click();
  await w.locator(".msg.in:not(.pending):has-text('One more thing')").waitFor();
  const next = await api("GET", `/api/v1/conversations?customer_id=${found.id}`);
  const fresh = next.body.items.find((c) => c.id !== conv.id);
  check(next.body.items.length === 2 && fresh?.status === "queued" && fresh.queue === "support", `a new queued conversation: ${JSON.stringify(next.body)}`);
  check(next.body.items.find((c) => c.id === conv.id)?.status === "resolved", "the rated one stays resolved");
  console.log("chat test passed");
} finally {
  await browser.close();
}
