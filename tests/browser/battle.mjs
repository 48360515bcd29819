// Drives four /demo/ pages in headless Chromium through a PK battle between two rooms, for
// tests/browser/test_battle.py: the two hosts connect their rooms (co-hosting), host A starts a
// battle and host B accepts, a fan in each room sends a gift, and every page must show the live
// scores and then the winner.
//
//   node battle.mjs '<json>'     (or the JSON on stdin)
//
// The JSON: {baseUrl, sdkappid, roomA, roomB, hostA, hostB, fanA, fanB: {id, sig},
//            bigGift, smallGift: {id, coins}, battleMs, chromium?, screenshotDir?, timeoutMs?}
// The last line on stdout is the result as JSON (as drive.mjs's); exit 0 when every check passed.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { checker, demoUrl, launchChromium, openUserPage, report, waitEntered } from './driver_support.mjs';

const config = JSON.parse(process.argv[2] ?? readFileSync(0, 'utf8'));
const timeout = config.timeoutMs ?? 10000;
const result = { ok: false, checks: {}, pageErrors: [], console: [], screenshots: [] };
const check = checker(result);

async function main() {
  const { roomA, roomB, bigGift, smallGift, battleMs } = config;
  const browser = await launchChromium(config);
  try {
    const extra = { battleMs: String(battleMs) };
    const pages = {};
    for (const [label, user, room] of [['hostA', config.hostA, roomA], ['hostB', config.hostB, roomB],
      ['fanA', config.fanA, roomA], ['fanB', config.fanB, roomB]]) {
      pages[label] = await openUserPage(browser, result, label, demoUrl(config, user, room, extra), timeout);
      await check(`${label} entered`, () => waitEntered(pages[label]));
    }
    const { hostA, hostB, fanA, fanB } = pages;
    const all = Object.entries(pages);

    await check('the hosts connect their rooms', async () => {
      await hostA.fill('#cohost-room', roomB);
      await hostA.click('#cohost-btn');
      await hostB.locator('#request-list li', { hasText: 'asks to co-host' })
        .getByRole('button', { name: 'Accept' }).click();
      for (const [, page] of all) {
        await page.locator(`#cohost-list li[data-room="${roomA}"]`).waitFor();
        await page.locator(`#cohost-list li[data-room="${roomB}"]`).waitFor();
      }
    });

    await check('host A starts a battle and host B accepts', async () => {
      await hostA.click('#battle-btn');
      await hostB.locator('#request-list li', { hasText: 'challenges you' })
        .getByRole('button', { name: 'Accept' }).click();
      for (const [, page] of all) await page.locator('#battle[data-status="2"]').waitFor();
    });

    await check('a fan in each room sends a gift', async () => {
      await fanA.locator(`#gift-list button[data-gift="${bigGift.id}"]`).click();
      await fanB.locator(`#gift-list button[data-gift="${smallGift.id}"]`).click();
    });

    await check('every page sees the live scores', async () => {
      for (const [, page] of all) {
        await page.locator(`#battle-scores li[data-room="${roomA}"][data-score="${bigGift.coins}"]`).waitFor();
        await page.locator(`#battle-scores li[data-room="${roomB}"][data-score="${smallGift.coins}"]`).waitFor();
      }
      return (await hostB.textContent('#battle-scores')).trim();
    });

    await check('every page sees the winner', async () => {
      for (const [, page] of all) {
        await page.locator(`#battle-result[data-winner="${roomA}"]`).waitFor({ timeout: battleMs + timeout });
      }
      return (await fanB.textContent('#battle-result')).trim();
    });

    if (config.screenshotDir) {
      for (const [label, page] of all) {
        const file = path.join(config.screenshotDir, `battle-${label}.png`);
        await page.screenshot({ path: file, fullPage: true });
        result.screenshots.push(file);
      }
    }
  } finally {
    await browser.close();
  }
  result.ok = Object.values(result.checks).every((c) => c.ok) && result.pageErrors.length === 0;
}

await report(result, main);
