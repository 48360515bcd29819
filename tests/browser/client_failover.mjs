// clients/js/liveroom.js in headless Chromium against a liveroomd cluster behind a load balancer,
// for tests/browser/test_client_failover.py: the node a client's connection depends on dies, and
// the client, retrying through the balancer, is back in its room with its seat and role.
//
//   node client_failover.mjs '<json>'
//
// The JSON: {baseUrl (the balancer), sdkappid, room, owner: {id, sig}, a: {id, sig}, chromium?}.
// Protocol with the test, one JSON object a line on stdout: {"phase": "seated"} once both clients
// are in the room and `a` holds seat 1 as an admin; the driver then waits for a line on stdin
// (the test killed a node meanwhile) and ends with {"ok", "checks": {...}} as client_live.mjs.
import { createInterface } from 'node:readline';

import { reportChecksOnDemoPage } from './driver_support.mjs';

const config = JSON.parse(process.argv[2]);

async function before(cfg) {
  const { LiveroomClient } = await import('/demo/liveroom.js');
  const url = `${cfg.baseUrl.replace(/^http/, 'ws')}/gateway`;
  const reconnect = { minDelayMs: 200, maxDelayMs: 1000, maxAttempts: 200 };
  const client = (user) => new LiveroomClient({
    url, sdkappid: cfg.sdkappid, userId: user.id, userSig: user.sig, reconnect,
  });
  const owner = client(cfg.owner);
  const a = client(cfg.a);
  window.failover = { owner, a, events: [] };
  for (const [name, c] of [['owner', owner], ['a', a]]) {
    for (const ev of ['close', 'reconnecting', 'reconnected']) {
      c.on(ev, (data) => window.failover.events.push({ who: name, ev, data }));
    }
  }
  await owner.connect();
  await a.connect();
  await owner.enter(cfg.room);
  await a.enter(cfg.room);
  await owner.setAdmin(cfg.a.id, true);
  const seated = await a.takeSeat(1);
  if (seated.Status !== 'Seated' || seated.Index !== 1) throw new Error(JSON.stringify(seated));
  return 'seated';
}

async function after(cfg) {
  const { owner, a, events } = window.failover;
  const checks = {};
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const expect = (cond, what) => {
    if (!cond) throw new Error(what);
  };
  async function check(name, fn) {
    try {
      const detail = await fn();
      checks[name] = { ok: true, ...(detail === undefined ? {} : { detail }) };
    } catch (err) {
      checks[name] = { ok: false, error: `${err.message} (code ${err.code})`, events };
    }
  }
  const reconnectedOf = (who) => events.find((e) => e.who === who && e.ev === 'reconnected');

  await check('the seated admin reconnects through the balancer and has its room back', async () => {
    const deadline = Date.now() + 40000;
    while (!reconnectedOf('a') && Date.now() < deadline) await sleep(100);
    const back = reconnectedOf('a');
    expect(back, `no reconnect within 40 s: ${JSON.stringify(events)}`);
    const enter = back.data.enter;
    expect(enter && enter.Recovered === true, `Recovered ${enter && enter.Recovered}`);
    expect(enter.Role === 'Admin', `Role ${enter.Role}`);
    expect(enter.SeatList.some((s) => s.Index === 1 && s.Member_Account === cfg.a.id),
           `seat 1 lost: ${JSON.stringify(enter.SeatList)}`);
    expect(a.state === 'open' && a.roomId === cfg.room, `${a.state} ${a.roomId}`);
    return events.filter((e) => e.who === 'a').map((e) => e.ev).join(' ');
  });

  await check('the room goes on: a message reaches the other member', async () => {
    const deadline = Date.now() + 40000;
    while (owner.state !== 'open' && Date.now() < deadline) await sleep(100);
    expect(owner.state === 'open', `owner ${owner.state}`);
    const seen = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no Message within 10 s')), 10000);
      const off = owner.on('Message', (d) => {
        if (d.From_Account !== cfg.a.id) return;
        clearTimeout(timer);
        off();
        resolve(d);
      });
    });
    const sent = await a.sendText('after the failover');
    const got = await seen;
    expect(got.MsgSeq === sent.MsgSeq, `MsgSeq ${got.MsgSeq} != ${sent.MsgSeq}`);
  });

  owner.close();
  a.close();
  return checks;
}

const result = { ok: false, checks: {}, pageErrors: [] };
await reportChecksOnDemoPage(config, result, async (page) => {
  console.log(JSON.stringify({ phase: await page.evaluate(before, config) }));
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim()) break; // the test did its part
  }
  return page.evaluate(after, config);
});
