// A supervisor monitors ann's call from the supervisor view: listening, they
// hear the call and ann does not hear them; whispering, ann hears their voice (a
// 1 kHz tone) and the caller does not; barging, the caller hears it too (the
// test checks that in the recording). Ann's received audio is analysed with
// WebAudio for the tone.
import { launch, artifacts, need, check, signIn, answer } from "./lib.mjs";

const base = need("SWITCHBOARD_URL");
const quiet = ["--autoplay-policy=no-user-gesture-required"];
const agentBrowser = await launch([`--use-file-for-fake-audio-capture=${need("AGENT_VOICE_WAV")}`, ...quiet]);
const supBrowser = await launch([`--use-file-for-fake-audio-capture=${need("SUPERVISOR_VOICE_WAV")}`, ...quiet]);

/** Starts analysing what ann's softphone receives. */
async function analyse(page) {
  await page.evaluate(() => {
    const call = [...window.switchboard.softphone.calls.values()][0];
    const track = call.pc.getReceivers().find((r) => r.track.kind === "audio").track;
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 4096;
    ctx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    window.toneCheck = { ctx, analyser };
  });
}

/** How many of `n` looks, 100 ms apart, find a 1 kHz peak in ann's audio. */
async function toneSeen(page, n) {
  return page.evaluate(async (n) => {
    const { ctx, analyser } = window.toneCheck;
    await ctx.resume();
    const bins = new Float32Array(analyser.frequencyBinCount);
    const hz = ctx.sampleRate / analyser.fftSize;
    const at = (f) => Math.round(f / hz);
    let seen = 0;
    window.toneLevels = [];
    for (let i = 0; i < n; i++) {
      await new Promise((r) => setTimeout(r, 100));
      analyser.getFloatFrequencyData(bins);
      const band = Array.from(bins.slice(at(300), at(3400))).sort((a, b) => a - b);
      const median = band[Math.floor(band.length / 2)];
      const peak = Math.max(...bins.slice(at(1000) - 2, at(1000) + 3));
      window.toneLevels.push([Math.round(peak), Math.round(median), Math.round(Math.max(...bins))]);
      if (peak > -70 && peak - median > 25) seen++;
    }
    return seen;
  }, n);
}

/** Audio energy the supervisor's page has received so far. */
async function supervisorEnergy(page) {
  return page.evaluate(async () => {
    let energy = 0;
    const pc = window.switchboardMonitor.pc;
    if (!pc) return 0;
    (await pc.getStats()).forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "audio") energy += s.totalAudioEnergy || 0; });
    return energy;
  });
}

try {
  const ann = await signIn(agentBrowser, base, "ann", need("AGENT_PASSWORD"));
  const ctx = await supBrowser.newContext({ locale: "en-US" });
  await ctx.grantPermissions(["microphone"], { origin: base });
  const sup = await ctx.newPage();
  sup.on("pageerror", (e) => { console.error("supervisor page error:", e); process.exitCode = 1; });
  await sup.goto(base + "/");
  await sup.fill("#login input[name=name]", need("SUPERVISOR_NAME"));
  await sup.fill("#login input[name=password]", need("SUPERVISOR_PASSWORD"));
  await sup.click("#login button[type=submit]");
  await sup.waitForSelector("#who:not(:empty)");
  await sup.goto(base + "/ui/supervisor.html");
  console.log("READY");
  await answer(ann);
  await analyse(ann);

  // Listen: the supervisor hears the call; ann hears no tone.
  await sup.locator("#agents tr[data-agent=ann][data-state=busy] button.listen").click({ timeout: 15000 });
  await sup.locator("#monitoring[data-state=connected]").waitFor({ timeout: 10000 });
  const before = await supervisorEnergy(sup);
  const listening = await toneSeen(ann, 20);
  const heard = (await supervisorEnergy(sup)) - before;
  console.log("listen: supervisor energy", heard, "tone at ann", listening);
  check(heard > 0.002, `the supervisor hears the call: energy ${heard}`);
  check(listening <= 2, `ann does not hear a listening supervisor: ${listening}/20`);

  // Whisper: ann hears the supervisor.
  await sup.locator("#agents tr[data-agent=ann] button.whisper").click();
  await sup.waitForFunction(() => document.querySelector("#monitor-status")?.textContent.includes("Whisper"));
  const whispered = await toneSeen(ann, 60);
  console.log("whisper: tone at ann", whispered, JSON.stringify(await ann.evaluate(() => window.toneLevels.slice(0, 20))));
  check(whispered >= 5, `ann hears the whispering supervisor: ${whispered}/60`);
  await sup.screenshot({ path: `${artifacts()}/supervisor-whisper.png`, fullPage: true });

  // Barge: everyone hears everyone (the caller's side is in the recording).
  await sup.locator("#agents tr[data-agent=ann] button.barge").click();
  await sup.waitForFunction(() => document.querySelector("#monitor-status")?.textContent.includes("Barge"));
  await sup.waitForTimeout(4000);
  await sup.locator("#monitor-stop").click();
  await sup.locator("#monitoring[data-state=idle]").waitFor({ timeout: 5000 });
  await ann.locator("#calls .call[data-ended]").waitFor({ timeout: 40000 });
  console.log("monitor test passed");
} finally {
  await agentBrowser.close();
  await supBrowser.close();
}
