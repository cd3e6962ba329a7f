// Shared helpers for the browser tests: launch Debian's Chromium headless with
// fake media devices and without any background network traffic.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
      ...extraArgs,
    ],
  });
}

export function artifacts() {
  const dir = process.env.SWITCHBOARD_ARTIFACTS || "artifacts";
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

/** Fails the test with a message unless `cond` holds. */
export function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}
