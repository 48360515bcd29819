// What the drivers of tests/browser share: Chromium started the way CI can run it, and the result
// printed as the last line of stdout with the exit code the tests read (0: ok, 1: a check failed,
// 2: the driver itself could not run).
import { chromium } from 'playwright-core';

export function launchChromium(config) {
  return chromium.launch({
    executablePath: config.chromium || '/usr/bin/chromium',
    // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}

// A page on /demo/ (the same origin as the gateway and /demo/liveroom.js; the page's own script
// stays idle without autoEnter) whose uncaught errors go into result.pageErrors.
async function openDemoPage(browser, config, result) {
  const page = await browser.newPage();
  page.on('pageerror', (err) => result.pageErrors.push(err.message));
  await page.goto(`${config.baseUrl}/demo/`);
  return page;
}

// The /demo/ URL that logs `user` ({id, sig}) in and enters `roomId` on load; `extra` adds query
// parameters (lang, battleMs ...).
export function demoUrl(config, user, roomId, extra = {}) {
  const q = new URLSearchParams({
    sdkappid: String(config.sdkappid), userId: user.id, userSig: user.sig, roomId, autoEnter: '1', ...extra,
  });
  return `${config.baseUrl}/demo/?${q}`;
}

// A named-check runner: `check(name, fn)` records {ok, ms, detail | error} under result.checks;
// a failure is recorded and the driver goes on, so one run reports every check.
export function checker(result) {
  return async (name, fn) => {
    const started = Date.now();
    try {
      const detail = await fn();
      result.checks[name] = { ok: true, ms: Date.now() - started, ...(detail === undefined ? {} : { detail }) };
    } catch (err) {
      result.checks[name] = { ok: false, ms: Date.now() - started, error: String(err.message || err).slice(0, 2000) };
    }
  };
}

// A page of its own (one browser context per user: like people on different machines) on `url`,
// whose errors and console warnings go into the result under `label`.
export async function openUserPage(browser, result, label, url, timeoutMs) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(timeoutMs);
  page.on('pageerror', (err) => result.pageErrors.push(`${label}: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') result.console.push(`${label} ${msg.type()}: ${msg.text()}`);
  });
  await page.goto(url);
  return page;
}

// Waits for a demo page to have entered its room; on failure the message says what its status
// line said.
export async function waitEntered(page) {
  try {
    await page.waitForSelector('body[data-state="entered"]');
  } catch (err) {
    const state = await page.getAttribute('body', 'data-state').catch(() => '?');
    const status = await page.textContent('#status').catch(() => '?');
    throw new Error(`not entered: state=${state} status=${JSON.stringify(status)}`);
  }
  return page.textContent('#status');
}

// Whether every named check passed (and there was one) with no error in the page.
function checksPassed(result) {
  const checks = Object.values(result.checks);
  return checks.length > 0 && checks.every((c) => c.ok) && result.pageErrors.length === 0;
}

// The whole of a driver on one /demo/ page: `body(page)` answers the named checks, and the
// result is printed and the process ends with its verdict.
export async function reportChecksOnDemoPage(config, result, body) {
  await report(result, async () => {
    const browser = await launchChromium(config);
    try {
      result.checks = await body(await openDemoPage(browser, config, result));
    } finally {
      await browser.close();
    }
    result.ok = checksPassed(result);
  });
}

// Runs `run()`, which fills `result` (and sets result.ok), then prints it and exits.
export async function report(result, run) {
  try {
    await run();
    console.log(JSON.stringify(result));
    process.exit(result.ok ? 0 : 1);
  } catch (err) {
    result.error = String(err.stack || err);
    console.log(JSON.stringify(result));
    process.exit(2);
  }
}
