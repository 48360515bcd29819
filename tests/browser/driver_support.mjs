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
