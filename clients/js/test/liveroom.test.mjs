// Unit tests of clients/js/liveroom.js against a scripted in-memory WebSocket (no server).
// Run: node --test clients/js/test/
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LiveroomClient, LiveroomError, ETIMEDOUT, ECLOSED, ERR_NOT_IN_ROOM } from '../liveroom.js';

// A WebSocket look-alike. Each instance answers the client's requests through `script`, a function
// (request, socket) → reply data | LiveroomError-like {code, message} | undefined (no reply).
class FakeSocket {
  static instances = [];
  static script = null;
  static refuse = false; // the next sockets fail to open

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.instances.push(this);
    setTimeout(() => {
      if (FakeSocket.refuse) {
        this.readyState = 3;
        this.onclose?.({ code: 1006, reason: '' });
        return;
      }
      this.readyState = 1;
      this.onopen?.();
    }, 1);
  }

  send(text) {
    assert.equal(this.readyState, 1, 'send on a socket that is not open');
    const req = JSON.parse(text);
    this.sent.push(req);
    const answer = FakeSocket.script?.(req, this);
    if (answer === undefined) return;
    const reply = answer instanceof Error || (answer && answer.code)
      ? { id: req.id, code: answer.code, message: answer.message, data: {} }
      : { id: req.id, code: 0, message: '', data: answer };
    setTimeout(() => this.push(reply), 1);
  }

  // Server → client: one frame holding the given objects, "\n"-separated.
  push(...objects) {
    if (this.readyState !== 1) return;
    this.onmessage?.({ data: objects.map((o) => JSON.stringify(o)).join('\n') });
  }

  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason }), 1);
  }

  // The server drops the connection.
  drop(code = 1006) {
    this.close(code, 'dropped');
  }
}

function defaultScript(req) {
  switch (req.op) {
    case 'login':
      return { UserId: req.identifier, HeartbeatIntervalMs: 10000, ServerTime: 1 };
    case 'enter':
      return { RoomInfo: { RoomId: req.RoomId }, SeatList: [], Role: 'Audience', MemberCount: 1,
               TotalLikes: 0, MsgSeq: 0, MutedUntil: 0, Recovered: false };
    default:
      return {};
  }
}

function reset(script = defaultScript) {
  FakeSocket.instances = [];
  FakeSocket.script = script;
  FakeSocket.refuse = false;
}

function makeClient(extra = {}) {
  return new LiveroomClient({
    url: 'ws://127.0.0.1:1/gateway', sdkappid: '1400000001', userId: 'alice', userSig: 'sig',
    WebSocket: FakeSocket, ...extra,
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function nextEvent(client, name) {
  return new Promise((resolve) => client.once(name, resolve));
}

test('connect logs in with the login op and resolves to its data', async () => {
  reset();
  const c = makeClient();
  const login = await c.connect();
  assert.equal(login.UserId, 'alice');
  assert.equal(c.state, 'open');
  const [ws] = FakeSocket.instances;
  assert.deepEqual(ws.sent[0], { id: 1, op: 'login', sdkappid: 1400000001, identifier: 'alice', usersig: 'sig' });
  assert.ok(!ws.url.includes('sig'), 'the UserSig is not put in the URL');
  c.close();
});

test('a failed login rejects connect with the server code and message', async () => {
  reset((req) => (req.op === 'login' ? { code: 70001, message: 'UserSig expired' } : {}));
  const c = makeClient();
  await assert.rejects(c.connect(), (err) => {
    assert.ok(err instanceof LiveroomError);
    assert.equal(err.code, 70001);
    assert.equal(err.message, 'UserSig expired');
    return true;
  });
  assert.equal(c.state, 'closed');
  assert.equal(FakeSocket.instances[0].readyState, 3, 'the socket is closed');
});

test('room requests carry RoomId; outside a room they fail with -2101', async () => {
  reset();
  const c = makeClient();
  await c.connect();
  await assert.rejects(c.sendText('hi'), (err) => err.code === ERR_NOT_IN_ROOM);
  const entered = await c.enter('live_1');
  assert.equal(entered.Role, 'Audience');
  assert.equal(c.roomId, 'live_1');
  await c.sendText('hi', { color: 'red' });
  await c.takeSeat();
  await c.lockSeat(2, { ForbidTaken: true });
  const sent = FakeSocket.instances[0].sent;
  assert.deepEqual(sent.at(-3), { id: 3, op: 'send_text', RoomId: 'live_1', Text: 'hi', ExtensionInfo: '{"color":"red"}' });
  assert.deepEqual(sent.at(-2), { id: 4, op: 'take_seat', RoomId: 'live_1' }, 'absent Index means any seat');
  assert.deepEqual(sent.at(-1), { id: 5, op: 'lock_seat', RoomId: 'live_1', Index: 2, ForbidTaken: true });
  await c.leave();
  assert.equal(c.roomId, null);
  c.close();
});

test('an error reply rejects with code, message and data', async () => {
  reset((req) => (req.op === 'send_text' ? { code: -2381, message: 'you are muted until 99' } : defaultScript(req)));
  const c = makeClient();
  await c.connect();
  await c.enter('r');
  await assert.rejects(c.sendText('x'), { code: -2381, message: 'you are muted until 99', op: 'send_text' });
  c.close();
});

test('a frame with several objects is handled object by object, in order', async () => {
  reset();
  const c = makeClient();
  await c.connect();
  await c.enter('r');
  const seen = [];
  c.on('Message', (data, env) => seen.push(['Message', data.MsgSeq, env.RoomId]));
  c.on('Likes', (data) => seen.push(['Likes', data.TotalLikes]));
  c.on('*', (data, env) => seen.push(['*', env.event]));
  const ws = FakeSocket.instances[0];
  // A reply between two events: the pending request resolves, the events arrive in order.
  const p = c.like(3);
  const likeId = ws.sent.at(-1).id;
  FakeSocket.script = () => undefined;
  ws.push(
    { event: 'Message', RoomId: 'r', data: { MsgSeq: 1 } },
    { id: likeId, code: 0, message: '', data: { TotalLikes: 3 } },
    { event: 'Likes', RoomId: 'r', data: { TotalLikes: 3 } },
  );
  assert.deepEqual(await p, { TotalLikes: 3 });
  assert.deepEqual(seen, [['Message', 1, 'r'], ['*', 'Message'], ['Likes', 3], ['*', 'Likes']]);
  c.close();
});

test('a throwing listener does not stop the others', async () => {
  reset();
  const c = makeClient();
  await c.connect();
  const seen = [];
  c.on('Message', () => {
    throw new Error('listener bug');
  });
  c.on('Message', (d) => seen.push(d.MsgSeq));
  // The error is rethrown from a microtask, where the page's or process's handler sees it.
  const rethrown = [];
  const realQueueMicrotask = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (fn) => {
    try {
      fn();
    } catch (err) {
      rethrown.push(err.message);
    }
  };
  try {
    FakeSocket.instances[0].push({ event: 'Message', RoomId: 'r', data: { MsgSeq: 7 } });
  } finally {
    globalThis.queueMicrotask = realQueueMicrotask;
  }
  assert.deepEqual(seen, [7]);
  assert.deepEqual(rethrown, ['listener bug']);
  c.close();
});

test('off removes a listener; on returns an unsubscribe function', async () => {
  reset();
  const c = makeClient();
  await c.connect();
  const seen = [];
  const f = (d) => seen.push(d.n);
  const unsubscribe = c.on('X', f);
  FakeSocket.instances[0].push({ event: 'X', data: { n: 1 } });
  unsubscribe();
  FakeSocket.instances[0].push({ event: 'X', data: { n: 2 } });
  c.on('X', f);
  c.off('X', f);
  FakeSocket.instances[0].push({ event: 'X', data: { n: 3 } });
  assert.deepEqual(seen, [1]);
  c.close();
});

test('a lost connection rejects pending requests and emits close (no reconnect by default)', async () => {
  reset((req) => (req.op === 'get_members' ? undefined : defaultScript(req)));
  const c = makeClient();
  await c.connect();
  await c.enter('r');
  const pending = c.getMembers();
  const closed = nextEvent(c, 'close');
  FakeSocket.instances[0].drop(1008);
  await assert.rejects(pending, (err) => err.code === ECLOSED);
  assert.deepEqual(await closed, { code: 1008, reason: 'dropped', reconnecting: false });
  assert.equal(c.state, 'closed');
  assert.equal(c.roomId, null);
  await assert.rejects(c.heartbeat(), { code: 'ENOTCONNECTED' });
});

test('requests time out with ETIMEDOUT and a late reply is ignored', async () => {
  reset((req) => (req.op === 'heartbeat' ? undefined : defaultScript(req)));
  const c = makeClient({ requestTimeoutMs: 30 });
  await c.connect();
  await assert.rejects(c.heartbeat(), (err) => err.code === ETIMEDOUT);
  const ws = FakeSocket.instances[0];
  ws.push({ id: ws.sent.at(-1).id, code: 0, message: '', data: {} }); // no effect, no throw
  c.close();
});

test('heartbeats go out at the interval the login reply gives', async () => {
  reset((req) => (req.op === 'login' ? { UserId: 'alice', HeartbeatIntervalMs: 40, ServerTime: 1 } : {}));
  const c = makeClient();
  await c.connect();
  assert.equal(c.heartbeatIntervalMs, 40);
  await sleep(200);
  // About one per interval: not one per tick (10), and some even on a busy machine.
  const beats = FakeSocket.instances[0].sent.filter((r) => r.op === 'heartbeat').length;
  assert.ok(beats >= 2 && beats <= 6, `${beats} heartbeats in 200 ms at 40 ms`);
  c.close();
  await sleep(60);
  assert.equal(FakeSocket.instances[0].sent.filter((r) => r.op === 'heartbeat').length, beats,
               'no heartbeat after close');
});

test('unanswered heartbeats count as a lost connection', async () => {
  reset((req) => (req.op === 'login' ? { UserId: 'alice', HeartbeatIntervalMs: 20, ServerTime: 1 }
    : req.op === 'heartbeat' ? undefined : {}));
  const c = makeClient();
  await c.connect();
  const closed = await nextEvent(c, 'close');
  assert.equal(closed.code, 4000);
  assert.equal(c.state, 'closed');
});

test('reconnect logs in again and re-enters the room', async () => {
  reset();
  const c = makeClient({ reconnect: { minDelayMs: 5, maxDelayMs: 20 } });
  await c.connect();
  await c.enter('live_9');
  const events = [];
  c.on('close', (e) => events.push(['close', e.reconnecting]));
  c.on('reconnecting', (e) => events.push(['reconnecting', e.attempt]));
  // The first attempt finds the server down; the second succeeds.
  FakeSocket.refuse = true;
  const reconnected = nextEvent(c, 'reconnected');
  FakeSocket.instances[0].drop();
  await sleep(15);
  FakeSocket.refuse = false;
  const result = await reconnected;
  assert.equal(result.enter.RoomInfo.RoomId, 'live_9');
  assert.equal(result.enterError, null);
  assert.equal(c.state, 'open');
  assert.equal(c.roomId, 'live_9');
  assert.equal(events[0][0], 'close');
  assert.equal(events[0][1], true);
  assert.ok(events.filter((e) => e[0] === 'reconnecting').length >= 2, JSON.stringify(events));
  const last = FakeSocket.instances.at(-1).sent;
  assert.deepEqual(last.map((r) => r.op), ['login', 'enter']);
  await c.sendText('back');
  c.close();
});

test('reconnect into a room that is gone connects without a room', async () => {
  reset();
  const c = makeClient({ reconnect: { minDelayMs: 5 } });
  await c.connect();
  await c.enter('gone');
  FakeSocket.script = (req) => (req.op === 'enter' ? { code: -2100, message: 'room not found' } : defaultScript(req));
  const reconnected = nextEvent(c, 'reconnected');
  FakeSocket.instances[0].drop();
  const result = await reconnected;
  assert.equal(result.enterError.code, -2100);
  assert.equal(c.roomId, null);
  assert.equal(c.state, 'open');
  c.close();
});

test('no reconnect after Kicked LoggedInElsewhere, nor after a login error', async () => {
  reset();
  const c = makeClient({ reconnect: { minDelayMs: 5 } });
  await c.connect();
  await c.enter('r');
  const kicked = nextEvent(c, 'Kicked');
  const closed = nextEvent(c, 'close');
  const ws = FakeSocket.instances[0];
  ws.push({ event: 'Kicked', RoomId: 'r', data: { Reason: 'LoggedInElsewhere' } });
  assert.equal((await kicked).Reason, 'LoggedInElsewhere');
  assert.equal(c.roomId, null);
  ws.drop(1000);
  assert.equal((await closed).reconnecting, false);
  await sleep(30);
  assert.equal(FakeSocket.instances.length, 1);

  reset();
  const d = makeClient({ reconnect: { minDelayMs: 5 } });
  await d.connect();
  FakeSocket.script = (req) => (req.op === 'login' ? { code: 70001, message: 'UserSig expired' } : {});
  const closes = [];
  const gaveUp = new Promise((resolve) => d.on('close', (e) => {
    closes.push(e);
    if (!e.reconnecting) resolve(e);
  }));
  FakeSocket.instances[0].drop();
  const final = await gaveUp;
  assert.equal(final.error.code, 70001);
  assert.equal(closes.length, 2, 'one close when lost, one when giving up');
  assert.equal(d.state, 'closed');
});

test('close() during a pending reconnect stops it', async () => {
  reset();
  const c = makeClient({ reconnect: { minDelayMs: 50 } });
  await c.connect();
  const reconnecting = nextEvent(c, 'reconnecting');
  FakeSocket.instances[0].drop();
  await reconnecting;
  c.close();
  await sleep(100);
  assert.equal(FakeSocket.instances.length, 1);
  assert.equal(c.state, 'closed');
});

test('the constructor checks its options', () => {
  assert.throws(() => new LiveroomClient({ sdkappid: 1, userId: 'a', userSig: 's', WebSocket: FakeSocket }), TypeError);
  assert.throws(() => makeClient({ sdkappid: 'x' }), /sdkappid/);
  assert.equal(makeClient({ url: 'https://h/gateway' }).url, 'wss://h/gateway');
});

test('close() from a listener during connect leaves the client closed', async () => {
  // The login reply and an event share a frame; the event's listener closes the client before
  // connect() resumes.
  reset((req, ws) => {
    if (req.op !== 'login') return {};
    setTimeout(() => ws.push(
      { id: req.id, code: 0, message: '', data: { UserId: 'alice', HeartbeatIntervalMs: 20 } },
      { event: 'Kicked', data: { Reason: 'KickedByAdmin' } }), 1);
    return undefined;
  });
  const c = makeClient();
  c.on('Kicked', () => c.close());
  await assert.rejects(c.connect(), { code: ECLOSED });
  assert.equal(c.state, 'closed');
  await sleep(60);
  assert.equal(FakeSocket.instances[0].sent.filter((r) => r.op === 'heartbeat').length, 0);
});

test('getGiftList localizes names; Gift events carry LocalName in the client language', async () => {
  const gift = { GiftId: 'rose', Name: 'Rose', Desc: 'red', Coins: 10,
                 LanguageList: [{ Language: 'zh-Hans', Name: '玫瑰', Desc: '' }] };
  reset((req) => (req.op === 'get_gift_list'
    ? { GiftList: [structuredClone(gift)],
        CategoryList: [{ CategoryId: 'hot', Name: 'Hot', Desc: '', GiftIdList: ['rose'], LanguageList: [] }] }
    : defaultScript(req)));
  const c = makeClient({ language: 'zh-Hans' });
  await c.connect();
  const list = await c.getGiftList();
  assert.equal(list.GiftList[0].LocalName, '玫瑰');
  assert.equal(list.GiftList[0].LocalDesc, 'red', 'an empty local text falls back to the default');
  assert.equal(list.CategoryList[0].LocalName, 'Hot');
  await c.enter('live_1');
  const got = nextEvent(c, 'Gift');
  FakeSocket.instances[0].push({ event: 'Gift', RoomId: 'live_1',
                                 data: { From_Account: 'bob', GiftId: 'rose', Count: 1, Gift: structuredClone(gift) } });
  assert.equal((await got).Gift.LocalName, '玫瑰');
  c.close();
});

test('sendGift sends a random key and, after a dropped connection, the same key again', async () => {
  let sends = 0;
  reset((req, socket) => {
    if (req.op !== 'send_gift') return defaultScript(req);
    sends += 1;
    if (sends === 1) {
      setTimeout(() => socket.drop(), 2); // the reply is lost with the connection
      return undefined;
    }
    return { GiftId: req.GiftId, Count: req.Count, Coins: 30, Receivers: ['host'], Repeated: true };
  });
  const c = makeClient({ reconnect: { minDelayMs: 5, maxDelayMs: 10 } });
  await c.connect();
  await c.enter('live_1');
  const sent = await c.sendGift('rose', { count: 3 });
  assert.equal(sent.Repeated, true);
  const requests = FakeSocket.instances.flatMap((s) => s.sent).filter((r) => r.op === 'send_gift');
  assert.equal(requests.length, 2);
  assert.ok(Number.isInteger(requests[0].Random) && requests[0].Random >= 0 && requests[0].Random < 2 ** 32);
  assert.equal(requests[1].Random, requests[0].Random, 'the retry reuses the key');
  assert.equal(requests[1].RoomId, 'live_1', 'the retry went to the room entered again');
  assert.equal(requests[0].Count, 3);
  c.close();
});

test('sendGift does not retry a refusal, nor without reconnect', async () => {
  reset((req) => (req.op === 'send_gift' ? { code: 102150, message: 'no coins' } : defaultScript(req)));
  const c = makeClient({ reconnect: true });
  await c.connect();
  await c.enter('live_1');
  await assert.rejects(c.sendGift('rose'), (err) => err.code === 102150);
  assert.equal(FakeSocket.instances[0].sent.filter((r) => r.op === 'send_gift').length, 1);
  c.close();
});

test('co-hosting and battle requests carry RoomId; coHosts follows enter and CoHostChanged', async () => {
  reset((req) => (req.op === 'enter'
    ? { ...defaultScript(req), CoHostList: [{ RoomId: 'live_1', Owner_Account: 'alice' }, { RoomId: 'live_2', Owner_Account: 'bob' }] }
    : defaultScript(req)));
  const c = makeClient();
  await c.connect();
  await c.enter('live_1');
  assert.equal(c.coHosts.length, 2);
  await c.requestCoHost(['live_3'], { timeoutMs: 5000 });
  await c.requestBattle(['live_2'], 60000);
  await c.respondBattle('battle_x', true);
  const sent = FakeSocket.instances[0].sent;
  assert.deepEqual(sent.at(-3), { id: 3, op: 'cohost_request', RoomId: 'live_1', ToRoomIdList: ['live_3'], TimeoutMs: 5000 });
  assert.deepEqual(sent.at(-2), { id: 4, op: 'battle_request', RoomId: 'live_1', ToRoomIdList: ['live_2'], Duration: 60000 });
  assert.deepEqual(sent.at(-1), { id: 5, op: 'battle_respond', RoomId: 'live_1', BattleId: 'battle_x', Accept: true });
  const changed = nextEvent(c, 'CoHostChanged');
  FakeSocket.instances[0].push({ event: 'CoHostChanged', RoomId: 'live_1', data: { CoHostList: [] } });
  await changed;
  assert.deepEqual(c.coHosts, []);
  c.close();
});
