// liveroom.js: a client for liveroomd's realtime gateway (docs/client-protocol.md).
//
// One ES module, no dependencies, for browsers and Node >= 18. It opens one WebSocket, logs in,
// keeps the connection alive with heartbeats, matches replies to requests and hands pushed events
// to listeners. It never mints UserSigs: a UserSig is signed with the app's secret key, which
// must stay on a backend.

// Codes of failures that happen on this side of the socket. They are strings so that they can
// never be mistaken for one of the server's numeric codes.
export const ECONNECT = 'ECONNECT'; // the WebSocket could not be opened
export const ENOTCONNECTED = 'ENOTCONNECTED'; // a request while not connected (and logged in)
export const ECLOSED = 'ECLOSED'; // the connection closed before the reply came
export const ETIMEDOUT = 'ETIMEDOUT'; // no reply within requestTimeoutMs
export const EPROTOCOL = 'EPROTOCOL'; // the server sent something that is not protocol JSON

// The server's own code for "you must enter the room first" (spec §3.4); used locally too, so a
// room request made outside a room fails the same way whether or not it reached the server.
export const ERR_NOT_IN_ROOM = -2101;

// The languages gift and category texts may be set in (spec §2.7).
export const GIFT_LANGUAGES = ['en', 'zh-Hans', 'zh-Hant'];

const DEFAULT_HEARTBEAT_INTERVAL_MS = 10000;
// How many times sendGift asks again after losing the connection before giving up.
const GIFT_SEND_ATTEMPTS = 4;
const DEFAULT_REQUEST_TIMEOUT_MS = 15000;
const WS_OPEN = 1; // WebSocket.OPEN, the same in browsers and in the `ws` package

/** A failed request: `code` is the server's code (a number) or one of the string codes above. */
export class LiveroomError extends Error {
  constructor(code, message, op, data) {
    super(message || `${op || 'request'} failed with code ${code}`);
    this.name = 'LiveroomError';
    this.code = code;
    this.op = op;
    this.data = data;
  }
}

// Login failures (bad or expired UserSig, unknown identifier: 70001…70052 as in REST) do not get
// better by retrying; reconnecting stops on them.
function isLoginError(err) {
  return typeof err.code === 'number' && err.code >= 70000 && err.code < 80000;
}

function normalizeReconnect(option) {
  if (!option) return null;
  const o = option === true ? {} : option;
  return {
    // The server keeps an offline member (and its seat) for presence_grace_ms, 30 s by default:
    // the delays stay well under that so a short outage is invisible to the room.
    minDelayMs: o.minDelayMs ?? 500,
    maxDelayMs: o.maxDelayMs ?? 8000,
    maxAttempts: o.maxAttempts ?? Infinity,
  };
}

const textDecoder = typeof TextDecoder === 'function' ? new TextDecoder() : null;

// A random 32-bit key for a gift send: the server counts a send with a key it has seen from this
// sender once, so asking again after a lost reply cannot pay twice.
function randomKey() {
  if (globalThis.crypto?.getRandomValues) return globalThis.crypto.getRandomValues(new Uint32Array(1))[0];
  return Math.floor(Math.random() * 0x100000000);
}

/**
 * The name and description of a gift (or of a category, from get_gift_list) in `language`, or its
 * defaults when it has no texts in that language.
 */
export function localizedTexts(item, language) {
  const local = language && (item.LanguageList || []).find((l) => l.Language === language);
  return {
    name: (local && local.Name) || item.Name || '',
    desc: (local && local.Desc) || item.Desc || '',
  };
}

function frameText(raw) {
  if (typeof raw === 'string') return raw;
  // The protocol uses text frames only; a binary one is decoded rather than dropped silently.
  if (textDecoder && (raw instanceof ArrayBuffer || ArrayBuffer.isView(raw))) {
    return textDecoder.decode(raw);
  }
  return String(raw);
}

export class LiveroomClient {
  /**
   * @param {object} options
   * @param {string} options.url          ws://HOST:PORT/gateway (http:// is turned into ws://)
   * @param {number|string} options.sdkappid
   * @param {string} options.userId
   * @param {string} options.userSig      from your backend; never signed in the client
   * @param {Function} [options.WebSocket] a WebSocket constructor, where there is no global one
   *                                       (Node < 22: the `ws` package's WebSocket)
   * @param {number} [options.requestTimeoutMs=15000]
   * @param {boolean|object} [options.reconnect=false] true, or {minDelayMs, maxDelayMs, maxAttempts}
   * @param {string} [options.language]   'en' | 'zh-Hans' | 'zh-Hant': the language gift names are
   *                                       shown in (LocalName / LocalDesc); the defaults otherwise
   */
  constructor(options = {}) {
    const { url, sdkappid, userId, userSig } = options;
    if (!url) throw new TypeError('LiveroomClient: url is required');
    if (!userId) throw new TypeError('LiveroomClient: userId is required');
    if (!userSig) throw new TypeError('LiveroomClient: userSig is required');
    const appid = Number(sdkappid);
    if (!Number.isSafeInteger(appid) || appid <= 0) {
      throw new TypeError('LiveroomClient: sdkappid must be a positive integer');
    }
    const WS = options.WebSocket || globalThis.WebSocket;
    if (typeof WS !== 'function') {
      throw new TypeError(
        'LiveroomClient: no global WebSocket here; pass options.WebSocket (e.g. the "ws" package)');
    }
    this.url = String(url).replace(/^http(s?):/i, 'ws$1:');
    this.sdkappid = appid;
    this.userId = String(userId);
    this.userSig = String(userSig);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.language = options.language ?? null;
    this.heartbeatIntervalMs = DEFAULT_HEARTBEAT_INTERVAL_MS;

    /** 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' */
    this.state = 'idle';
    /** The room this connection is in (set by enter, cleared by leave/dismiss/Kicked/...). */
    this.roomId = null;
    /** Our role in that room: 'Owner' | 'Admin' | 'Audience'. */
    this.role = null;
    /** The rooms co-hosting with ours, ours included ([{RoomId, Owner_Account}]; [] when none). */
    this.coHosts = [];

    this._WebSocket = WS;
    this._reconnect = normalizeReconnect(options.reconnect);
    this._ws = null;
    this._nextId = 1;
    this._pending = new Map(); // id → {op, resolve, reject, timer}
    this._listeners = new Map(); // event name → array of functions
    this._heartbeatTimer = null;
    this._reconnectTimer = null;
    this._lastSentAt = 0;
    // True from connect() until close(): losing the socket in between is not what the user asked.
    this._wantOpen = false;
    // Set by a Kicked LoggedInElsewhere: reconnecting would just kick the other session back.
    this._stayClosed = false;
  }

  // ---- events -----------------------------------------------------------------------------

  /**
   * Listens to a pushed event (`Message`, `SeatListChanged`, ...), to `close`, `reconnecting`,
   * `reconnected` and `error`, or to every server event with '*'. A listener gets (data, envelope)
   * where envelope is the whole object ({event, RoomId, data}). Returns a function that unsubscribes.
   */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('listener must be a function');
    const list = this._listeners.get(event) || [];
    list.push(fn);
    this._listeners.set(event, list);
    return () => this.off(event, fn);
  }

  off(event, fn) {
    const list = this._listeners.get(event);
    if (!list) return;
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }

  once(event, fn) {
    const off = this.on(event, (...args) => {
      off();
      fn(...args);
    });
    return off;
  }

  _emit(event, data, envelope) {
    const targets = [...(this._listeners.get(event) || [])];
    // Only server events go to '*': local ones (close, reconnecting, ...) have no envelope.
    if (envelope) targets.push(...(this._listeners.get('*') || []));
    for (const fn of targets) {
      try {
        fn(data, envelope);
      } catch (err) {
        // One failing listener must not stop the others nor the rest of the frame; rethrown
        // outside this loop, it still reaches the page's (or process's) error handling.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  // ---- connection -------------------------------------------------------------------------

  /** Opens the socket and logs in; resolves to the login reply's data. */
  async connect() {
    if (this.state !== 'idle' && this.state !== 'closed') {
      throw new LiveroomError(ECONNECT, `connect() while ${this.state}`, 'connect');
    }
    this._wantOpen = true;
    this._stayClosed = false;
    try {
      const { login } = await this._establish();
      return login;
    } catch (err) {
      // A first connection that fails is reported to the caller, not retried behind its back.
      this._wantOpen = false;
      this.state = 'closed';
      throw err;
    }
  }

  /**
   * Closes the connection for good (no reconnect). Does not leave the room first: the server keeps
   * the member offline for its grace period; call leave() before for a clean exit.
   */
  close() {
    const wasActive = this.state !== 'idle' && this.state !== 'closed';
    this._wantOpen = false;
    clearTimeout(this._reconnectTimer);
    this._reconnectTimer = null;
    this._teardown(new LiveroomError(ECLOSED, 'the client was closed'));
    this.state = 'closed';
    this.roomId = null;
    this.role = null;
    if (wasActive) this._emit('close', { code: 1000, reason: 'closed by the client', reconnecting: false });
  }

  // Opens a socket, logs in and, when reconnecting inside a room, enters it again. The state is
  // 'open' only once all of that succeeded; until then a lost socket just fails this promise.
  async _establish() {
    this.state = this.state === 'reconnecting' ? 'reconnecting' : 'connecting';
    try {
      await this._openSocket();
      const ws = this._ws;
      // A listener (of an event that came in the same frame as a reply) may have called close()
      // before this function resumes: go no further on a socket that is no longer ours.
      const stillOurs = () => {
        if (this._ws !== ws || !ws) throw new LiveroomError(ECLOSED, 'the client was closed', 'connect');
      };
      stillOurs();
      // Credentials go in the login request rather than the URL's query string, so they do not
      // end up in proxies' and servers' access logs.
      const login = await this._call(
        'login', { sdkappid: this.sdkappid, identifier: this.userId, usersig: this.userSig },
        { beforeOpen: true });
      stillOurs();
      if (login.UserId) this.userId = login.UserId;
      if (login.HeartbeatIntervalMs > 0) this.heartbeatIntervalMs = login.HeartbeatIntervalMs;
      let enter = null;
      let enterError = null;
      if (this.roomId) {
        const roomId = this.roomId;
        try {
          enter = await this._call('enter', { RoomId: roomId }, { beforeOpen: true });
          this._entered(roomId, enter);
        } catch (err) {
          if (typeof err.code !== 'number') throw err; // the connection failed: try again
          // The room answered no (dismissed, banned, full): we are connected but in no room.
          enterError = err;
          this.roomId = null;
          this.role = null;
        }
        stillOurs();
      }
      this.state = 'open';
      this._startHeartbeat();
      return { login, enter, enterError };
    } catch (err) {
      this._teardown(err);
      throw err;
    }
  }

  _openSocket() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new this._WebSocket(this.url);
      } catch (err) {
        reject(new LiveroomError(ECONNECT, `cannot open ${this.url}: ${err.message}`, 'connect'));
        return;
      }
      this._ws = ws;
      ws.binaryType = 'arraybuffer';
      let opened = false;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (ev) => this._onFrame(ws, ev.data);
      // Browsers tell nothing useful in `error`; the `close` that always follows carries the code.
      ws.onerror = () => {};
      ws.onclose = (ev) => {
        if (!opened) {
          if (this._ws === ws) this._ws = null;
          reject(new LiveroomError(ECONNECT, `cannot connect to ${this.url} (close code ${ev.code})`,
                                   'connect'));
          return;
        }
        this._onSocketClose(ws, ev);
      };
    });
  }

  _onSocketClose(ws, ev) {
    if (ws !== this._ws) return; // a socket this client already let go of
    this._ws = null;
    this._lost(ev.code, ev.reason || '');
  }

  // The connection is gone (closed by the server or the network, or heartbeats unanswered).
  _lost(code, reason) {
    const wasOpen = this.state === 'open';
    this._teardown(new LiveroomError(ECLOSED, `connection closed (${code}${reason ? ` ${reason}` : ''})`));
    // While connecting, the failed login/enter request already tells _establish what happened.
    if (!wasOpen) return;
    const reconnecting = this._wantOpen && this._reconnect !== null && !this._stayClosed;
    if (reconnecting) {
      this.state = 'reconnecting'; // roomId is kept: the reconnect enters the room again
    } else {
      this.state = 'closed';
      this._wantOpen = false;
      this.roomId = null;
      this.role = null;
    }
    this._emit('close', { code, reason, reconnecting });
    if (reconnecting) this._scheduleReconnect(0);
  }

  _scheduleReconnect(attempt) {
    const { minDelayMs, maxDelayMs, maxAttempts } = this._reconnect;
    if (attempt >= maxAttempts) {
      this._giveUp(new LiveroomError(ECONNECT, `gave up after ${attempt} reconnect attempts`, 'connect'));
      return;
    }
    // Exponential backoff with jitter, so that the clients of a restarted server do not all come
    // back in the same millisecond.
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** attempt);
    const delayMs = Math.round(base * (0.8 + 0.4 * Math.random()));
    this._emit('reconnecting', { attempt: attempt + 1, delayMs });
    this._reconnectTimer = setTimeout(async () => {
      this._reconnectTimer = null;
      if (!this._wantOpen) return;
      try {
        const result = await this._establish();
        this._emit('reconnected', result);
      } catch (err) {
        if (!this._wantOpen) return; // close() was called meanwhile
        if (isLoginError(err)) {
          this._giveUp(err);
          return;
        }
        this.state = 'reconnecting';
        this._scheduleReconnect(attempt + 1);
      }
    }, delayMs);
  }

  _giveUp(error) {
    this._wantOpen = false;
    this.state = 'closed';
    this.roomId = null;
    this.role = null;
    this._emit('close', { code: 1006, reason: error.message, reconnecting: false, error });
  }

  // Lets go of the socket, the heartbeat and every pending request.
  _teardown(error) {
    this._stopHeartbeat();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      try {
        ws.close(1000);
      } catch {
        // already closing: nothing to do
      }
    }
    const pending = [...this._pending.values()];
    this._pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new LiveroomError(error.code ?? ECLOSED, error.message, p.op));
    }
  }

  _startHeartbeat() {
    this._stopHeartbeat();
    const every = this.heartbeatIntervalMs;
    // Ticks twice per interval; a heartbeat goes out once nothing else has for about an interval
    // (any request counts as one). The server closes after three silent intervals.
    this._heartbeatTimer = setInterval(() => {
      if (Date.now() - this._lastSentAt < every * 0.75) return;
      // An unanswered heartbeat means a dead connection even if the socket did not notice (a
      // sleeping laptop, a dropped NAT entry): treat it as lost.
      this._call('heartbeat', {}, { timeoutMs: 2 * every }).catch((err) => {
        if (err.code === ETIMEDOUT && this.state === 'open') this._lost(4000, 'heartbeat timed out');
      });
    }, every / 2);
  }

  _stopHeartbeat() {
    clearInterval(this._heartbeatTimer);
    this._heartbeatTimer = null;
  }

  // ---- frames -----------------------------------------------------------------------------

  _onFrame(ws, raw) {
    if (ws !== this._ws) return;
    // A frame may hold several objects separated by "\n" (JSON never has a raw newline inside).
    for (const line of frameText(raw).split('\n')) {
      if (!line.trim()) continue;
      let obj;
      try {
        obj = JSON.parse(line);
      } catch {
        this._emit('error', new LiveroomError(EPROTOCOL, `not JSON: ${line.slice(0, 200)}`));
        continue;
      }
      if (obj && typeof obj.event === 'string') this._onEvent(obj);
      else if (obj && 'id' in obj) this._onReply(obj);
      else this._emit('error', new LiveroomError(EPROTOCOL, `neither reply nor event: ${line.slice(0, 200)}`));
    }
  }

  _onReply(obj) {
    const p = this._pending.get(obj.id);
    if (!p) return; // timed out earlier; nobody waits for it any more
    this._pending.delete(obj.id);
    clearTimeout(p.timer);
    if (obj.code === 0) p.resolve(obj.data ?? {});
    else p.reject(new LiveroomError(obj.code, obj.message, p.op, obj.data));
  }

  _onEvent(obj) {
    const data = obj.data ?? {};
    // Keep roomId/role true before listeners run, so they can rely on them.
    const ours = obj.RoomId === undefined || obj.RoomId === this.roomId;
    switch (obj.event) {
      case 'RoleChanged':
        if (ours) this.role = data.Role ?? this.role;
        break;
      case 'Kicked':
        if (data.Reason === 'LoggedInElsewhere') this._stayClosed = true;
      // falls through: either way this connection is no longer in the room
      case 'RoomDismissed':
        if (ours) {
          this.roomId = null;
          this.role = null;
        }
        break;
      case 'Gift':
        if (data.Gift) this._localize(data.Gift);
        break;
      case 'CoHostChanged':
        if (ours) this.coHosts = data.CoHostList || [];
        break;
      default:
        break;
    }
    this._emit(obj.event, data, obj);
  }

  // ---- requests ---------------------------------------------------------------------------

  _call(op, params = {}, { timeoutMs = this.requestTimeoutMs, beforeOpen = false } = {}) {
    const ws = this._ws;
    if (!ws || ws.readyState !== WS_OPEN || (!beforeOpen && this.state !== 'open')) {
      return Promise.reject(new LiveroomError(ENOTCONNECTED, `${op}: not connected`, op));
    }
    const id = this._nextId++;
    // id and op first on the wire (easier to read in a capture) and never overridden by params.
    const frame = JSON.stringify(Object.assign({ id, op }, params, { id, op }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new LiveroomError(ETIMEDOUT, `${op}: no reply within ${timeoutMs} ms`, op));
      }, timeoutMs);
      this._pending.set(id, { op, resolve, reject, timer });
      try {
        ws.send(frame);
        this._lastSentAt = Date.now();
      } catch (err) {
        this._pending.delete(id);
        clearTimeout(timer);
        reject(new LiveroomError(ECLOSED, `${op}: ${err.message}`, op));
      }
    });
  }

  /** Any request by op name with its parameters; resolves to the reply's data. */
  request(op, params = {}) {
    return this._call(op, params);
  }

  _roomCall(op, params = {}) {
    if (!this.roomId) {
      return Promise.reject(new LiveroomError(ERR_NOT_IN_ROOM, `${op}: enter a room first`, op));
    }
    return this._call(op, { RoomId: this.roomId, ...params });
  }

  _entered(roomId, data) {
    this.roomId = roomId;
    this.role = data.Role ?? null;
    this.coHosts = data.CoHostList || [];
  }

  heartbeat() {
    return this._call('heartbeat');
  }

  /** Enters a room; resolves to {RoomInfo, SeatList, Role, MemberCount, TotalLikes, ...}. */
  async enter(roomId) {
    const id = String(roomId);
    const data = await this._call('enter', { RoomId: id });
    this._entered(id, data);
    return data;
  }

  async leave() {
    const data = await this._roomCall('leave');
    this.roomId = null;
    this.role = null;
    return data;
  }

  /** One page of the member list; pass the previous reply's Next for the following one. */
  getMembers(next = '', count = 100) {
    return this._roomCall('get_members', { Next: next, Count: count });
  }

  /** Takes seat `index` (any free seat when omitted); in ApplyToTake rooms this applies. */
  takeSeat(index, { timeoutMs } = {}) {
    return this._roomCall('take_seat', { Index: index ?? undefined, TimeoutMs: timeoutMs });
  }

  leaveSeat() {
    return this._roomCall('leave_seat');
  }

  cancelSeatRequest(requestId) {
    return this._roomCall('cancel_seat_request', { RequestId: requestId });
  }

  respondSeatRequest(requestId, accept) {
    return this._roomCall('respond_seat_request', { RequestId: requestId, Accept: Boolean(accept) });
  }

  inviteToSeat(userId, index, { timeoutMs } = {}) {
    return this._roomCall('invite_to_seat',
                          { Member_Account: userId, Index: index ?? undefined, TimeoutMs: timeoutMs });
  }

  kickOffSeat(userId, data) {
    return this._roomCall('kick_off_seat', { Member_Account: userId, Data: data });
  }

  /** lockSeat(2, {ForbidTaken: true, ForbidVideo: false, ForbidAudio: false}) */
  lockSeat(index, { ForbidTaken, ForbidVideo, ForbidAudio } = {}) {
    return this._roomCall('lock_seat', { Index: index, ForbidTaken, ForbidVideo, ForbidAudio });
  }

  /** Moves yourself (or, as a manager, `userId`) to seat `seatIndex`; policy 0 give up, 1 force, 2 swap. */
  moveSeat(seatIndex, { userId, policy } = {}) {
    return this._roomCall('move_seat', { SeatIndex: seatIndex, Member_Account: userId, Policy: policy });
  }

  /** Resolves to {MsgSeq, MsgTime}. extensionInfo: JSON text, or a value to serialize. */
  sendText(text, extensionInfo) {
    const ext = extensionInfo === undefined || typeof extensionInfo === 'string'
      ? extensionInfo
      : JSON.stringify(extensionInfo);
    return this._roomCall('send_text', { Text: text, ExtensionInfo: ext });
  }

  /** data: a string, or a value to serialize as JSON. */
  sendCustom(businessId, data) {
    return this._roomCall('send_custom', {
      BusinessId: businessId,
      Data: typeof data === 'string' ? data : JSON.stringify(data),
    });
  }

  /** Resolves to {TotalLikes}. */
  like(count = 1) {
    return this._roomCall('like', { Count: count });
  }

  /** fields: those of REST update_room_info's RoomInfo (RoomName, Notice, ...). */
  updateRoomInfo(fields) {
    return this._roomCall('update_room_info', { RoomInfo: { ...fields, RoomId: this.roomId } });
  }

  kickMember(userId, reason) {
    return this._roomCall('kick_member', { Member_Account: userId, Reason: reason });
  }

  banMember(userId, durationSeconds, reason) {
    return this._roomCall('ban_member', { Member_Account: userId, Duration: durationSeconds, Reason: reason });
  }

  /** muteSeconds 0 unmutes. */
  muteMember(userId, muteSeconds) {
    return this._roomCall('mute_member', { Member_Account: userId, MuteTime: muteSeconds });
  }

  setAdmin(userId, isAdmin = true) {
    return this._roomCall('set_admin', { Member_Account: userId, IsAdmin: Boolean(isAdmin) });
  }

  // ---- gifts --------------------------------------------------------------------------------

  // Adds LocalName / LocalDesc: the texts in this client's language (or the defaults).
  _localize(item) {
    const { name, desc } = localizedTexts(item, this.language);
    item.LocalName = name;
    item.LocalDesc = desc;
    return item;
  }

  /** The gift catalog: {GiftList, CategoryList}, each entry with LocalName / LocalDesc. */
  async getGiftList() {
    const data = await this._call('get_gift_list');
    for (const gift of data.GiftList || []) this._localize(gift);
    for (const category of data.CategoryList || []) this._localize(category);
    return data;
  }

  /**
   * Sends gift `giftId` in the current room: `count` of it to each receiver (default: the owner).
   * Resolves to {GiftId, Count, Coins, Receivers, Repeated}. The send carries a random key; if the
   * connection drops before the reply (and reconnect is on), it is sent again with the same key
   * once the client is back in the room, so it counts exactly once (Repeated: true when the first
   * one had counted).
   */
  async sendGift(giftId, { count = 1, receivers, random } = {}) {
    const params = { GiftId: giftId, Count: count, Receivers: receivers, Random: random ?? randomKey() };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this._roomCall('send_gift', params);
      } catch (err) {
        const lost = err.code === ECLOSED || err.code === ETIMEDOUT || err.code === ENOTCONNECTED;
        if (!lost || !this._reconnect || !this._wantOpen || attempt >= GIFT_SEND_ATTEMPTS) throw err;
        await this._backOpen();
      }
    }
  }

  // Resolves once the connection is open again (after a reconnect), rejects if it closes for good.
  _backOpen() {
    if (this.state === 'open') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const offs = [];
      const done = (fn, value) => {
        for (const off of offs) off();
        fn(value);
      };
      offs.push(this.on('reconnected', () => done(resolve)));
      offs.push(this.on('close', (info) => {
        if (!info.reconnecting) done(reject, info.error || new LiveroomError(ECLOSED, info.reason, 'send_gift'));
      }));
    });
  }

  // ---- co-hosting and battles (the owner of the room) -----------------------------------------

  /**
   * Asks the owners of `roomIds` to co-host with this room. Resolves to {Results: [{RoomId, Code,
   * Message, RequestId}]}: Code 0 when that owner was asked (a CoHostRequestResolved follows).
   */
  requestCoHost(roomIds, { timeoutMs, extensionInfo } = {}) {
    return this._roomCall('cohost_request',
                          { ToRoomIdList: roomIds, TimeoutMs: timeoutMs, ExtensionInfo: extensionInfo });
  }

  respondCoHost(requestId, accept) {
    return this._roomCall('cohost_respond', { RequestId: requestId, Accept: Boolean(accept) });
  }

  cancelCoHost(requestId) {
    return this._roomCall('cohost_cancel', { RequestId: requestId });
  }

  disconnectCoHost() {
    return this._roomCall('cohost_disconnect');
  }

  /** Resolves to {CoHostList}. */
  getCoHost() {
    return this._roomCall('get_cohost');
  }

  /**
   * Invites rooms co-hosting with this one to a PK battle of `durationMs`. Resolves to {BattleId,
   * Results: [{RoomId, ResultCode, ResultMessage}]}.
   */
  requestBattle(roomIds, durationMs, { timeoutMs, extensionInfo } = {}) {
    return this._roomCall('battle_request', {
      ToRoomIdList: roomIds, Duration: durationMs, TimeoutMs: timeoutMs, ExtensionInfo: extensionInfo,
    });
  }

  respondBattle(battleId, accept) {
    return this._roomCall('battle_respond', { BattleId: battleId, Accept: Boolean(accept) });
  }

  leaveBattle() {
    return this._roomCall('battle_leave');
  }

  /** The battle this room is in, as REST get_battle_info (rejects with -1001 when none). */
  getBattle() {
    return this._roomCall('get_battle');
  }

  /** Ends the room (owner); resolves to {Statistic}. */
  async dismiss() {
    const data = await this._roomCall('dismiss');
    this.roomId = null;
    this.role = null;
    return data;
  }
}

export default LiveroomClient;
