// Drives two /demo/ pages in headless Chromium through one room, for tests/browser/test_demo.py.
//
//   node drive.mjs '<json>'     (or the JSON on stdin)
//
// The JSON: {baseUrl, sdkappid, roomId, userA: {id, sig}, userB: {id, sig}, text,
//            gift: {id, name, coins}, chromium?, screenshotDir?, timeoutMs?}
// Page A sends `text` and takes a seat, then likes and sends 5 of `gift`; page B must show the
// message, A on a seat, A among the members, the like and the gift's effect and coins. The last
// line on stdout is the result as JSON:
//   {"ok": bool, "checks": {name: {"ok": bool, "ms": n, "error"?: text}}, "pageErrors": [...], ...}
// Exit 0 when ok, 1 when a check failed, 2 when the driver itself could not run.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { checker, demoUrl, launchChromium, openUserPage, report, waitEntered } from './driver_support.mjs';

const config = JSON.parse(process.argv[2] ?? readFileSync(0, 'utf8'));
const timeout = config.timeoutMs ?? 10000;
const result = { ok: false, checks: {}, pageErrors: [], console: [], screenshots: [] };

const check = checker(result);

function openPage(browser, label, user) {
  return openUserPage(browser, result, label, demoUrl(config, user, config.roomId), timeout);
}

async function main() {
  const browser = await launchChromium(config);
  try {
    const { userA, userB, text } = config;
    const a = await openPage(browser, 'A', userA);
    await check('A entered', () => waitEntered(a));
    const b = await openPage(browser, 'B', userB);
    await check('B entered', () => waitEntered(b));

    await check('A sends a message', async () => {
      await a.fill('#chat-input', text);
      await a.click('#send-btn');
      await a.locator('#chat-list li', { hasText: text }).waitFor();
    });
    await check('A takes a seat', async () => {
      await a.click('#take-seat-btn');
      await a.locator(`#seat-list li[data-user="${userA.id}"]`).waitFor();
    });
    await check('A likes', async () => {
      await a.click('#like-btn');
      await a.waitForFunction(() => Number(document.getElementById('like-count').textContent) >= 1);
    });

    await check('A sends five gifts', async () => {
      const button = a.locator(`#gift-list button[data-gift="${config.gift.id}"]`);
      await button.waitFor();
      const label = (await button.textContent()).trim();
      await a.selectOption('#gift-count', '5');
      await button.click();
      await a.locator(`#gift-fx .gift-fx-item[data-gift="${config.gift.id}"]`).waitFor();
      return label;
    });

    await check('B sees the message', async () => {
      const line = b.locator('#chat-list li', { hasText: text });
      await line.waitFor();
      const from = await line.first().getAttribute('data-from');
      if (from !== userA.id) throw new Error(`message from ${from}, expected ${userA.id}`);
      return (await line.first().textContent()).trim();
    });
    await check('B sees A on a seat', async () => {
      const seat = b.locator(`#seat-list li[data-user="${userA.id}"]`);
      await seat.waitFor();
      return Number(await seat.getAttribute('data-index'));
    });
    await check('B sees A among the members', async () => {
      await b.locator(`#member-list li[data-user="${userA.id}"]`).waitFor();
      await b.locator(`#member-list li[data-user="${userB.id}"]`).waitFor();
    });
    await check('A sees B among the members', async () => {
      await a.locator(`#member-list li[data-user="${userB.id}"]`).waitFor();
    });
    await check('B sees the like', async () => {
      await b.waitForFunction(() => Number(document.getElementById('like-count').textContent) >= 1);
    });
    await check('B sees the gift effect', async () => {
      const fx = b.locator(`#gift-fx .gift-fx-item[data-gift="${config.gift.id}"]`);
      await fx.waitFor();
      return (await fx.first().textContent()).trim();
    });
    await check('B sees the gift coins', async () => {
      const want = 5 * config.gift.coins;
      await b.waitForFunction((n) => Number(document.getElementById('gift-coins').textContent) === n, want);
      return want;
    });

    if (config.screenshotDir) {
      for (const [label, page] of [['A', a], ['B', b]]) {
        const file = path.join(config.screenshotDir, `demo-${label}.png`);
        await page.screenshot({ path: file, fullPage: true });
        result.screenshots.push(file);
      }
    }
    result.statusA = await a.textContent('#status');
    result.statusB = await b.textContent('#status');
  } finally {
    await browser.close();
  }
  result.ok = Object.values(result.checks).every((c) => c.ok) && result.pageErrors.length === 0;
}

await report(result, main);
