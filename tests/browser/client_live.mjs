// Runs clients/js/liveroom.js (as liveroomd serves it, /demo/liveroom.js) inside headless Chromium
// against a real liveroomd, for tests/browser/test_demo.py.
//
//   node client_live.mjs '<json>'     (or the JSON on stdin)
//
// The JSON: {baseUrl, sdkappid, room, applyRoom, owner: {id, sig}, a: {id, sig}, b: {id, sig},
//            chromium?}. Both rooms exist, FreeToTake and ApplyToTake, owned by `owner`.
// The last line on stdout is {"ok": bool, "checks": {name: {"ok", "detail"?, "error"?}}}.
import { readFileSync } from 'node:fs';

import { reportChecksOnDemoPage } from './driver_support.mjs';

const config = JSON.parse(process.argv[2] ?? readFileSync(0, 'utf8'));

// Runs in the page. Every step is a named check; the first failure inside a check ends that check
// only, and later checks still run (they need not depend on it).
async function scenario(cfg) {
  const { LiveroomClient, LiveroomError } = await import('/demo/liveroom.js');
  const url = `${cfg.baseUrl.replace(/^http/, 'ws')}/gateway`;
  const checks = {};
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const expect = (cond, what) => {
    if (!cond) throw new Error(what);
  };

  // Counts frames that hold several objects, to show the splitting is exercised for real.
  let multiObjectFrames = 0;
  class CountingWebSocket extends WebSocket {
    constructor(u) {
      super(u);
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'string' && e.data.includes('\n')) multiObjectFrames++;
      });
    }
  }
  const client = (user, extra = {}) => new LiveroomClient({
    url, sdkappid: cfg.sdkappid, userId: user.id, userSig: user.sig, WebSocket: CountingWebSocket, ...extra,
  });
  // Resolves with the data of the first `name` event that satisfies `pred`.
  const next = (c, name, pred = () => true, ms = 5000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${name} within ${ms} ms`)); }, ms);
    const off = c.on(name, (data) => {
      if (!pred(data)) return;
      clearTimeout(timer);
      off();
      resolve(data);
    });
  });
  const rejection = async (promise) => {
    try {
      await promise;
    } catch (err) {
      return err;
    }
    throw new Error('expected a rejection');
  };
  async function check(name, fn) {
    try {
      const detail = await fn();
      checks[name] = { ok: true, ...(detail === undefined ? {} : { detail }) };
    } catch (err) {
      checks[name] = { ok: false, error: `${err.message} (code ${err.code})` };
    }
  }

  const owner = client(cfg.owner);
  const a = client(cfg.a, { reconnect: { minDelayMs: 100, maxDelayMs: 1000 } });
  const b = client(cfg.b, { reconnect: { minDelayMs: 100, maxDelayMs: 1000 } });

  await check('a login error carries the server code', async () => {
    const wrong = new LiveroomClient({ url, sdkappid: cfg.sdkappid, userId: cfg.a.id, userSig: cfg.b.sig });
    const err = await rejection(wrong.connect());
    expect(err instanceof LiveroomError, `not a LiveroomError: ${err}`);
    expect(err.code >= 70000 && err.code < 80000, `code ${err.code}`);
    expect(wrong.state === 'closed', `state ${wrong.state}`);
    return `${err.code} ${err.message}`;
  });

  await check('connect and enter', async () => {
    for (const c of [owner, a, b]) await c.connect();
    const entered = await owner.enter(cfg.room);
    expect(entered.Role === 'Owner', `owner's role ${entered.Role}`);
    await a.enter(cfg.room);
    expect(a.role === 'Audience', `a's role ${a.role}`);
    await b.enter(cfg.room);
    const page = await owner.getMembers('', 100);
    const ids = page.MemberList.map((m) => m.Member_Account).sort();
    expect(JSON.stringify(ids) === JSON.stringify([cfg.a.id, cfg.b.id, cfg.owner.id].sort()), `members ${ids}`);
  });

  await check('error replies reject with code and message', async () => {
    const seated = await a.takeSeat(1);
    expect(seated.Status === 'Seated' && seated.Index === 1, JSON.stringify(seated));
    const taken = await rejection(b.takeSeat(1));
    expect(taken.code === -2342 && taken.message && taken.op === 'take_seat', `${taken.code} ${taken.message}`);
    const notManager = await rejection(b.lockSeat(2, { ForbidTaken: true }));
    expect(notManager.code === -2301, `lock_seat by audience: ${notManager.code}`);
    const badCount = await rejection(b.like(0));
    expect(badCount.code === -1001, `like(0): ${badCount.code}`);
  });

  await check('a burst of messages arrives once each, in MsgSeq order', async () => {
    const seen = [];
    const off = owner.on('Message', (d) => { if (d.From_Account === cfg.a.id) seen.push(d.MsgSeq); });
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => a.sendText(`burst ${i}`)));
    const deadline = Date.now() + 5000;
    while (seen.length < 100 && Date.now() < deadline) await sleep(20);
    off();
    const sent = replies.map((r) => r.MsgSeq);
    expect(sent.every((s, i) => i === 0 || s > sent[i - 1]), 'reply MsgSeqs not increasing');
    expect(JSON.stringify(seen) === JSON.stringify(sent), `events ${seen.length}: ${seen.slice(0, 5)}…`);
    return { multiObjectFrames };
  });

  await check('a lost connection reconnects and recovers the seat', async () => {
    const left = [];
    const off = owner.on('MembersChanged', (d) => left.push(...(d.Left || [])));
    const reconnected = next(a, 'reconnected');
    // Simulates a network drop: the client did not ask for this close, so it reconnects.
    a._ws.close();
    const { enter } = await reconnected;
    expect(enter && enter.Recovered === true, `Recovered ${enter && enter.Recovered}`);
    expect(enter.SeatList.some((s) => s.Index === 1 && s.Member_Account === cfg.a.id), 'seat 1 lost');
    expect(a.state === 'open' && a.roomId === cfg.room, `${a.state} ${a.roomId}`);
    await a.sendText('back');
    await sleep(500); // a MembersChanged batch period and more
    off();
    expect(!left.includes(cfg.a.id), 'the others saw a leave');
  });

  await check('a second login closes the first without reconnecting', async () => {
    const kicked = next(b, 'Kicked');
    const closed = next(b, 'close');
    const b2 = client(cfg.b);
    await b2.connect();
    expect((await kicked).Reason === 'LoggedInElsewhere', 'Kicked reason');
    const info = await closed;
    expect(info.reconnecting === false, 'reconnecting after LoggedInElsewhere');
    await sleep(300);
    expect(b.state === 'closed', `b state ${b.state}`);
    b2.close();
  });

  await check('ApplyToTake: a request, the owner accepts, the seat is taken', async () => {
    await a.leave();
    await owner.dismiss(); // a connection is in one room at a time
    await owner.enter(cfg.applyRoom);
    await a.enter(cfg.applyRoom);
    const request = next(owner, 'SeatRequest');
    const reply = await a.takeSeat(3);
    expect(reply.Status === 'Pending' && reply.RequestId, JSON.stringify(reply));
    const seen = await request;
    expect(seen.RequestId === reply.RequestId && seen.Member_Account === cfg.a.id, JSON.stringify(seen));
    const resolved = next(a, 'SeatRequestResolved', (d) => d.RequestId === reply.RequestId);
    const seats = next(a, 'SeatListChanged',
                       (d) => d.SeatList.some((s) => s.Index === 3 && s.Member_Account === cfg.a.id));
    await owner.respondSeatRequest(reply.RequestId, true);
    expect((await resolved).Result === 'Accepted', 'not Accepted');
    await seats;
  });

  await check('kicked: no longer in the room', async () => {
    const kicked = next(a, 'Kicked');
    await owner.kickMember(cfg.a.id, 'test');
    expect((await kicked).Reason === 'KickedByAdmin', 'Kicked reason');
    expect(a.roomId === null, `roomId ${a.roomId}`);
    const err = await rejection(a.sendText('x'));
    expect(err.code === -2101, `send after kick: ${err.code}`);
  });

  await check('dismiss', async () => {
    await a.enter(cfg.applyRoom);
    const dismissed = next(a, 'RoomDismissed');
    const result = await owner.dismiss();
    expect(result.Statistic, 'no Statistic');
    expect((await dismissed).Reason === 'DestroyByUser', 'RoomDismissed reason');
    expect(a.roomId === null && owner.roomId === null, 'roomId kept');
  });

  for (const c of [owner, a, b]) c.close();
  return checks;
}

const result = { ok: false, checks: {}, pageErrors: [] };
await reportChecksOnDemoPage(config, result, (page) => page.evaluate(scenario, config));
