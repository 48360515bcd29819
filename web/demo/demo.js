// The /demo/ page: one member in one room, through clients/js/liveroom.js (served beside this
// file as ./liveroom.js). Everything shown comes from the enter reply, get_members and events.
import { LiveroomClient } from './liveroom.js';

const $ = (id) => document.getElementById(id);
const MAX_CHAT_LINES = 200;
const MAX_LOG_LINES = 100;
const MEMBER_PAGES = 5; // the demo lists at most 5 pages of 100; MemberCount has the real number
const GIFT_FX_MS = 3000; // how long a received gift's effect stays

let client = null;
// The latest known state of the room. null means "not known yet": the enter reply fills it only
// when no event got there first, because an event in the same frame as the reply is newer than
// the reply's snapshot and can reach its listener before `await client.enter()` continues.
let seats = null;
let likes = null;
let memberCount = null;
let roomInfo = null;
const members = new Map(); // userId → role ('' when only a MembersChanged told us about them)
let membersLoaded = false;
let queuedMemberEvents = []; // MembersChanged that came while the first pages were loading
let mySeatRequest = null; // RequestId of our pending application in an ApplyToTake room
let dismissing = false; // the owner's dismiss request is on its way
let giftCoins = null; // the room's TotalGiftCoins
let gifts = []; // the app's gift catalog, as get_gift_list gives it
let coHosts = []; // the rooms connected with ours (ours included), [] when none
let battle = null; // the battle our room is in, as get_battle_info gives it (null: none)

// ---- small helpers ------------------------------------------------------------------------

// Builds an element. Text is only ever set as text (never as HTML): user ids, room names and
// chat come from other people.
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'class') node.className = value;
    else node[key] = value;
  }
  node.append(...children);
  return node;
}

function setStatus(text, { error = false } = {}) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

function setState(state) {
  // Tests and style sheets read the page's state here.
  document.body.dataset.state = state;
  const inRoom = state === 'entered' || state === 'reconnecting';
  $('room').hidden = !(inRoom || state === 'left');
  $('enter-btn').disabled = state === 'connecting' || inRoom;
  $('leave-btn').disabled = !inRoom;
  for (const id of ['take-seat-btn', 'leave-seat-btn', 'like-btn', 'send-btn', 'chat-input',
    'gift-count', 'gift-receiver', 'cohost-room', 'cohost-btn', 'cohost-leave-btn', 'battle-btn',
    'battle-leave-btn', 'battle-duration']) {
    $(id).disabled = state !== 'entered';
  }
  for (const button of $('gift-list').querySelectorAll('button')) button.disabled = state !== 'entered';
  if (state === 'entered') updateSeatButtons();
}

function describe(err) {
  return `${err.op || 'request'} failed: ${err.message} (code ${err.code})`;
}

function log(text) {
  const list = $('log-list');
  list.append(el('li', {}, `${new Date().toLocaleTimeString()} ${text}`));
  while (list.children.length > MAX_LOG_LINES) list.firstElementChild.remove();
}

// Runs a user action; a failure shows in the status line instead of disappearing.
async function act(fn) {
  try {
    return await fn();
  } catch (err) {
    setStatus(describe(err), { error: true });
    log(describe(err));
    return undefined;
  }
}

// ---- rendering ----------------------------------------------------------------------------

function renderRoomInfo() {
  const info = roomInfo || {};
  $('room-name').textContent = info.RoomName ? `“${info.RoomName}”` : '';
  $('info-room-id').textContent = info.RoomId || client?.roomId || '';
  $('info-owner').textContent = info.Owner_Account || '';
  $('info-role').textContent = client?.role || '';
  $('info-seat-mode').textContent = info.TakeSeatMode || '';
  // The owner of a Live room cannot leave it (-2102), only dismiss it.
  $('leave-btn').textContent = client?.role === 'Owner' ? 'Dismiss room' : 'Leave room';
  document.body.dataset.role = client?.role || '';
  renderGiftReceivers();
}

function renderCounts() {
  $('member-count').textContent = String(memberCount ?? members.size);
  $('like-count').textContent = String(likes ?? 0);
  $('gift-coins').textContent = String(giftCoins ?? 0);
}

// ---- gifts --------------------------------------------------------------------------------

function renderGifts() {
  const entered = document.body.dataset.state === 'entered';
  $('gift-list').replaceChildren(...gifts.map((gift) => {
    const button = el('button', { type: 'button', disabled: !entered, dataset: { gift: gift.GiftId } });
    if (gift.IconUrl) button.append(el('img', { src: gift.IconUrl, alt: '' }));
    button.append(`${gift.LocalName} · ${gift.Coins}`);
    button.setAttribute('aria-label', `Send ${gift.LocalName} (${gift.Coins} coins each)`);
    button.addEventListener('click', () => sendGift(gift));
    return el('li', {}, button);
  }));
  $('gift-empty').hidden = gifts.length > 0;
}

// Who a gift can go to: the owner (the default) and whoever is on a seat.
function renderGiftReceivers() {
  const select = $('gift-receiver');
  const chosen = select.value;
  const owner = roomInfo?.Owner_Account;
  const seated = (seats || []).map((s) => s.Member_Account).filter((u) => u && u !== owner);
  const options = [el('option', { value: '' }, owner ? `${owner} (owner)` : 'the owner')];
  for (const user of seated) options.push(el('option', { value: user }, user));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

async function loadGifts() {
  const list = await client.getGiftList();
  gifts = list.GiftList || [];
  renderGifts();
}

async function sendGift(gift) {
  const count = Number($('gift-count').value) || 1;
  const to = $('gift-receiver').value;
  // The effect plays when the Gift event comes back (the sender gets it too), in room order.
  const sent = await act(() => client.sendGift(gift.GiftId, { count, receivers: to ? [to] : undefined }));
  if (sent) setStatus(`You sent ${gift.LocalName} ×${sent.Count} (${sent.Coins} coins).`);
}

// A received gift: an effect named after it, which rises and fades.
function playGift(data) {
  const name = data.Gift?.LocalName || data.GiftId;
  const to = (data.Receivers || []).join(', ');
  const item = el('div', { class: 'gift-fx-item', dataset: { gift: data.GiftId, from: data.From_Account || '' } },
    `🎁 ${data.From_Account} → ${to}: ${name} ×${data.Count}`);
  $('gift-fx').append(item);
  setTimeout(() => item.remove(), GIFT_FX_MS);
}

function mySeat() {
  return (seats || []).find((s) => s.Member_Account === client?.userId);
}

function updateSeatButtons() {
  const seated = Boolean(mySeat());
  $('take-seat-btn').disabled = seated || mySeatRequest !== null;
  $('leave-seat-btn').disabled = !seated;
}

function renderSeats() {
  const list = $('seat-list');
  const me = client?.userId;
  const seated = Boolean(mySeat());
  list.replaceChildren(...(seats || []).map((seat) => {
    const user = seat.Member_Account;
    const li = el('li', { dataset: { index: String(seat.Index) } });
    const label = `Seat ${seat.Index + 1}: `;
    if (user) {
      li.dataset.user = user;
      li.append(label, el('span', { class: 'user' }, user === me ? `${user} (you)` : user));
      if (user === me) li.classList.add('me');
    } else if (seat.IsTakenDisabled) {
      li.append(label, el('span', { class: 'locked' }, 'locked'));
    } else {
      li.append(label, el('span', { class: 'free' }, 'free'));
      if (!seated && mySeatRequest === null && document.body.dataset.state === 'entered') {
        const button = el('button', { type: 'button', class: 'small', textContent: 'Sit here' });
        button.setAttribute('aria-label', `Take seat ${seat.Index + 1}`);
        button.addEventListener('click', () => takeSeat(seat.Index));
        li.append(' ', button);
      }
    }
    return li;
  }));
  updateSeatButtons();
  renderGiftReceivers();
}

function renderMembers() {
  const me = client?.userId;
  const ids = [...members.keys()].sort();
  $('member-list').replaceChildren(...ids.map((id) => {
    const role = members.get(id);
    const li = el('li', { dataset: { user: id } }, id === me ? `${id} (you)` : id);
    if (role && role !== 'Audience') li.append(' ', el('span', { class: 'role' }, role));
    return li;
  }));
  const hidden = (memberCount ?? 0) - members.size;
  $('member-more').hidden = hidden <= 0;
  $('member-more').textContent = hidden > 0 ? `… and ${hidden} more` : '';
  renderCounts();
}

// send_custom arrives as a TIMCustomElem whose Data is {"BusinessId": ..., "Data": ...} as JSON
// text (docs/compatibility.md); anything else custom is shown as it is.
function customText(data) {
  try {
    const parsed = JSON.parse(data);
    if (parsed && typeof parsed.BusinessId === 'string') return `[${parsed.BusinessId}] ${parsed.Data ?? ''}`;
  } catch {
    // not JSON: fall through
  }
  return `[custom] ${data ?? ''}`;
}

function messageText(body) {
  return (body || []).map((elem) => {
    const content = elem.MsgContent || {};
    if (elem.MsgType === 'TIMTextElem') return content.Text ?? '';
    if (elem.MsgType === 'TIMCustomElem') return customText(content.Data);
    return `[${elem.MsgType}]`;
  }).join(' ');
}

function addChatLine(msg) {
  const list = $('chat-list');
  const time = msg.MsgTime ? new Date(msg.MsgTime * 1000).toLocaleTimeString() : '';
  list.append(el('li', { dataset: { seq: String(msg.MsgSeq ?? ''), from: msg.From_Account || '' } },
    el('time', {}, time), ' ',
    el('span', { class: 'from' }, msg.From_Account || '?'), ': ',
    el('span', { class: 'text' }, messageText(msg.MsgBody))));
  while (list.children.length > MAX_CHAT_LINES) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
}

// Seat applications (for managers), invitations (for the invitee) and our own application.
function addRequest(requestId, text, buttons) {
  removeRequest(requestId);
  const li = el('li', { dataset: { request: requestId } }, text);
  for (const [label, fn] of buttons) {
    const button = el('button', { type: 'button', class: 'small', textContent: label });
    button.addEventListener('click', () => act(fn));
    li.append(' ', button);
  }
  $('request-list').append(li);
  $('requests').hidden = false;
}

function removeRequest(requestId) {
  for (const li of $('request-list').querySelectorAll('li')) {
    if (li.dataset.request === requestId) li.remove();
  }
  $('requests').hidden = $('request-list').children.length === 0;
}

// ---- co-hosting and battles -----------------------------------------------------------------

function renderCoHosts() {
  $('cohost-list').replaceChildren(...coHosts.map((r) => el('li', { dataset: { room: r.RoomId } },
    r.RoomId === client?.roomId ? `${r.RoomId} (this room, ${r.Owner_Account})` : `${r.RoomId} (${r.Owner_Account})`)));
  $('cohost-none').hidden = coHosts.length > 0;
}

// The rooms that took part in the battle, with their scores.
function battleRooms(b) {
  return [b.FromRoomInfo, ...(b.ToRoomList || [])]
    .filter((r) => r && (r.Status === 'Joined' || r.Status === 'Left'));
}

function renderBattle() {
  const bar = $('battle-bar');
  const result = $('battle-result');
  if (!battle) {
    $('battle-status').textContent = 'No battle.';
    bar.hidden = true;
    result.hidden = true;
    $('battle-scores').replaceChildren();
    return;
  }
  const rooms = battleRooms(battle);
  const status = {
    1: 'Waiting for the invited rooms to accept…',
    2: `Battle on: ends at ${new Date(battle.EndTime * 1000).toLocaleTimeString()}.`,
    3: `Battle over (${battle.EndReason}).`,
  };
  $('battle-status').textContent = status[battle.Status] || '';
  document.getElementById('battle').dataset.status = String(battle.Status);
  bar.hidden = rooms.length < 2;
  bar.replaceChildren(...rooms.map((r) => {
    const seg = el('div', { dataset: { room: r.RoomId, score: String(r.Score) } }, `${r.RoomId} ${r.Score}`);
    seg.style.flexGrow = String(r.Score + 1);
    return seg;
  }));
  $('battle-scores').replaceChildren(...rooms.map((r) =>
    el('li', { dataset: { room: r.RoomId, score: String(r.Score) } }, `${r.RoomId}: ${r.Score} coins`)));
  result.hidden = battle.Status !== 3;
  if (battle.Status === 3) {
    const winners = battle.WinnerRoomIdList || [];
    result.dataset.winner = winners.join(',');
    result.textContent = winners.length === 0 ? 'No winner.'
      : winners.length > 1 ? `Draw: ${winners.join(', ')}` : `Winner: ${winners[0]}`;
  }
}

async function loadBattle() {
  try {
    battle = await client.getBattle();
  } catch {
    battle = null; // the room is in no battle
  }
  renderBattle();
}

// ---- room state ---------------------------------------------------------------------------

function resetRoomState() {
  seats = null;
  likes = null;
  memberCount = null;
  roomInfo = null;
  members.clear();
  membersLoaded = false;
  queuedMemberEvents = [];
  mySeatRequest = null;
  giftCoins = null;
  coHosts = [];
  battle = null;
  renderCoHosts();
  renderBattle();
  $('gift-fx').replaceChildren();
  $('request-list').replaceChildren();
  $('requests').hidden = true;
}

function applyMembersChanged(data) {
  // A user in both lists left and came back (or came and went) within one batch; the protocol
  // does not order them, so presence wins and the next event corrects it if need be.
  for (const id of data.Left || []) members.delete(id);
  for (const id of data.Entered || []) if (!members.has(id)) members.set(id, '');
}

// Shows what the enter reply says, where no event said something newer.
async function showRoom(data) {
  roomInfo ??= data.RoomInfo || null;
  seats ??= data.SeatList || [];
  likes ??= data.TotalLikes ?? 0;
  giftCoins ??= data.TotalGiftCoins ?? 0;
  memberCount ??= data.MemberCount ?? null;
  if (coHosts.length === 0) coHosts = data.CoHostList || [];
  renderCoHosts();
  renderRoomInfo();
  renderSeats();
  renderCounts();
  await loadGifts();
  if (!battle) await loadBattle();
  await loadMembers();
}

async function loadMembers() {
  membersLoaded = false;
  queuedMemberEvents = [];
  const found = new Map();
  let next = '';
  for (let page = 0; page < MEMBER_PAGES; page++) {
    const reply = await client.getMembers(next, 100);
    for (const m of reply.MemberList || []) found.set(m.Member_Account, m.Role || '');
    memberCount = reply.MemberCount ?? memberCount;
    next = reply.Next || '';
    if (!next) break;
  }
  members.clear();
  for (const [id, role] of found) members.set(id, role);
  // Changes reported while the pages were loading are at least as new as the pages: replay them.
  for (const data of queuedMemberEvents) applyMembersChanged(data);
  queuedMemberEvents = [];
  membersLoaded = true;
  renderMembers();
}

// ---- client events ------------------------------------------------------------------------

function wire(c) {
  c.on('*', (data, envelope) => log(`${envelope.event} ${JSON.stringify(data)}`));

  c.on('RoomInfoChanged', (data) => {
    roomInfo = data.RoomInfo || roomInfo;
    renderRoomInfo();
  });
  c.on('SeatListChanged', (data) => {
    seats = data.SeatList || [];
    renderSeats();
  });
  c.on('MembersChanged', (data) => {
    memberCount = data.MemberCount ?? memberCount;
    if (membersLoaded) applyMembersChanged(data);
    else queuedMemberEvents.push(data);
    renderMembers();
  });
  c.on('Message', (data) => addChatLine(data));
  c.on('Likes', (data) => {
    likes = data.TotalLikes ?? likes;
    renderCounts();
  });
  c.on('CoHostChanged', (data) => {
    coHosts = data.CoHostList || [];
    renderCoHosts();
  });
  c.on('CoHostRequest', (data) => {
    addRequest(data.RequestId, `${data.From_Account} (room ${data.FromRoomId}) asks to co-host.`, [
      ['Accept', () => c.respondCoHost(data.RequestId, true)],
      ['Reject', () => c.respondCoHost(data.RequestId, false)],
    ]);
  });
  c.on('CoHostRequestResolved', (data) => {
    removeRequest(data.RequestId);
    setStatus(`Co-host request between ${data.FromRoomId} and ${data.ToRoomId}: ${data.Result}.`);
  });
  c.on('BattleInvitation', (data) => {
    addRequest(data.BattleId, `Room ${data.FromRoomId} challenges you to a ${data.Duration / 1000} s battle.`, [
      ['Accept', async () => {
        await c.respondBattle(data.BattleId, true);
        removeRequest(data.BattleId);
      }],
      ['Decline', async () => {
        await c.respondBattle(data.BattleId, false);
        removeRequest(data.BattleId);
      }],
    ]);
  });
  c.on('BattleInvitationResolved', (data) => setStatus(`Battle invitation to ${data.RoomId}: ${data.Result}.`));
  c.on('BattleChanged', (data) => {
    battle = data;
    renderBattle();
  });
  c.on('BattleScore', (data) => {
    if (!battle || battle.BattleId !== data.BattleId) return;
    for (const s of data.ScoreList || []) {
      for (const r of [battle.FromRoomInfo, ...(battle.ToRoomList || [])]) {
        if (r && r.RoomId === s.RoomId) r.Score = s.Score;
      }
    }
    renderBattle();
  });
  c.on('BattleEnded', (data) => {
    battle = data;
    removeRequest(data.BattleId);
    renderBattle();
  });
  c.on('GiftSummary', (data) => {
    giftCoins = data.TotalGiftCoins ?? giftCoins;
    renderCounts();
    const item = el('div', { class: 'gift-fx-item', dataset: { summary: String(data.Sends) } },
      `🎁 +${data.Sends} more gifts (${data.Coins} coins)`);
    $('gift-fx').append(item);
    setTimeout(() => item.remove(), GIFT_FX_MS);
  });
  c.on('Gift', (data) => {
    giftCoins = data.TotalGiftCoins ?? giftCoins;
    renderCounts();
    playGift(data);
  });
  c.on('RoleChanged', (data) => {
    if (members.has(c.userId)) members.set(c.userId, data.Role);
    renderRoomInfo();
    renderMembers();
    setStatus(`Your role is now ${data.Role}.`);
  });
  c.on('Muted', (data) => {
    setStatus(data.MutedUntil ? `You are muted until ${new Date(data.MutedUntil * 1000).toLocaleString()}.`
      : 'You are no longer muted.');
  });
  c.on('KickedOffSeat', (data) => setStatus(`You were taken off your seat${data.Data ? `: ${data.Data}` : ''}.`));

  c.on('SeatRequest', (data) => {
    const where = data.Index >= 0 ? `seat ${data.Index + 1}` : 'a seat';
    addRequest(data.RequestId, `${data.Member_Account} asks for ${where}.`, [
      ['Accept', () => c.respondSeatRequest(data.RequestId, true)],
      ['Reject', () => c.respondSeatRequest(data.RequestId, false)],
    ]);
  });
  c.on('SeatInvitation', (data) => {
    addRequest(data.RequestId, `${data.From_Account} invites you to seat ${data.Index + 1}.`, [
      ['Accept', () => c.respondSeatRequest(data.RequestId, true)],
      ['Decline', () => c.respondSeatRequest(data.RequestId, false)],
    ]);
  });
  c.on('SeatRequestResolved', (data) => {
    removeRequest(data.RequestId);
    if (data.RequestId === mySeatRequest) {
      mySeatRequest = null;
      setStatus(`Your seat request: ${data.Result}.`);
      renderSeats();
    }
  });

  c.on('Kicked', (data) => {
    const why = {
      Banned: `You were banned from the room until ${new Date(data.BannedUntil * 1000).toLocaleString()}.`,
      LoggedInElsewhere: 'You logged in elsewhere; this page is disconnected.',
      KickedByAdmin: 'You were removed from the room.',
    };
    leftRoom(why[data.Reason] || `You were removed from the room (${data.Reason}).`);
  });
  c.on('RoomDismissed', () => leftRoom('The room was dismissed.'));

  c.on('close', (info) => {
    if (c !== client) return;
    log(`connection closed ${info.code} ${info.reason}`);
    if (info.reconnecting) {
      // Whatever we knew may be outdated when we are back; the re-enter reply refills it.
      resetRoomState();
      setState('reconnecting');
      setStatus('Connection lost; reconnecting…', { error: true });
    } else if (document.body.dataset.state !== 'left') {
      client = null;
      setState('closed');
      setStatus(`Disconnected${info.error ? `: ${describe(info.error)}` : ''}.`, { error: true });
    }
  });
  c.on('reconnecting', (info) => log(`reconnect attempt ${info.attempt} in ${info.delayMs} ms`));
  c.on('reconnected', async ({ enter, enterError }) => {
    if (c !== client) return;
    if (!enter) {
      leftRoom(enterError ? `Reconnected, but could not enter again: ${describe(enterError)}` : 'Reconnected.');
      return;
    }
    setState('entered');
    setStatus(enter.Recovered ? 'Reconnected; your place in the room was kept.' : 'Reconnected.');
    await act(() => showRoom(enter));
  });
}

// We are out of the room (kicked, dismissed): keep the last view, stop the connection.
function leftRoom(text) {
  setState('left');
  setStatus(text, { error: true });
  // Our own dismiss: its RoomDismissed comes before its reply, which leaveRoom still awaits on
  // this connection; leaveRoom closes it.
  if (dismissing) return;
  const c = client;
  client = null;
  c?.close();
}

// ---- user actions -------------------------------------------------------------------------

function defaultGatewayUrl() {
  if (!location.host) return '';
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/gateway`;
}

async function enterRoom() {
  const roomId = $('room-id').value.trim();
  const url = $('gateway-url').value.trim() || defaultGatewayUrl();
  if (!url) {
    setStatus('Set the gateway URL (Advanced): this page was not served by liveroomd.', { error: true });
    return;
  }
  client?.close();
  resetRoomState();
  $('chat-list').replaceChildren();
  let c;
  try {
    c = new LiveroomClient({
      url,
      sdkappid: $('sdkappid').value.trim(),
      userId: $('user-id').value.trim(),
      userSig: $('user-sig').value.trim(),
      reconnect: true,
      language: params.get('lang') || undefined,
    });
  } catch (err) {
    setStatus(err.message, { error: true });
    return;
  }
  client = c;
  wire(c); // before connecting: events can come with the enter reply
  setState('connecting');
  setStatus('Connecting…');
  try {
    const login = await c.connect();
    log(`logged in as ${login.UserId}, heartbeat every ${login.HeartbeatIntervalMs} ms`);
    setStatus(`Entering ${roomId}…`);
    const data = await c.enter(roomId);
    if (c !== client) return;
    setState('entered');
    setStatus(`In room ${roomId} as ${c.userId}${data.Recovered ? ' (recovered)' : ''}.`);
    await showRoom(data);
  } catch (err) {
    if (c !== client) return;
    client = null;
    c.close();
    setState('error');
    setStatus(describe(err), { error: true });
  }
}

async function leaveRoom() {
  const c = client;
  if (!c) return;
  const owner = c.role === 'Owner';
  if (owner && !window.confirm('Dismiss the room for everyone in it?')) return;
  dismissing = owner;
  const left = await act(async () => {
    await (owner ? c.dismiss() : c.leave());
    return true;
  });
  dismissing = false;
  if (!left) {
    if (document.body.dataset.state === 'left') leftRoom($('status').textContent);
    return; // the status says why
  }
  client = null;
  c.close();
  setState('idle');
  setStatus(owner ? 'You dismissed the room.' : 'You left the room.');
}

async function takeSeat(index) {
  const reply = await act(() => client.takeSeat(index));
  if (!reply) return;
  if (reply.Status === 'Pending') {
    mySeatRequest = reply.RequestId;
    addRequest(reply.RequestId, 'Your seat request is waiting for a manager.', [
      ['Cancel', async () => {
        await client.cancelSeatRequest(reply.RequestId);
        if (mySeatRequest === reply.RequestId) mySeatRequest = null;
        removeRequest(reply.RequestId);
        renderSeats();
      }],
    ]);
    renderSeats();
  } else {
    setStatus(`You are on seat ${reply.Index + 1}.`);
  }
}

$('join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  enterRoom();
});
$('leave-btn').addEventListener('click', () => leaveRoom());
$('take-seat-btn').addEventListener('click', () => takeSeat());
$('leave-seat-btn').addEventListener('click', () => act(() => client.leaveSeat()));
$('like-btn').addEventListener('click', async () => {
  const reply = await act(() => client.like(1));
  if (reply && typeof reply.TotalLikes === 'number') {
    likes = Math.max(likes ?? 0, reply.TotalLikes);
    renderCounts();
  }
});
$('cohost-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const room = $('cohost-room').value.trim();
  const reply = await act(() => client.requestCoHost([room]));
  const result = reply?.Results?.[0];
  if (!result) return;
  if (result.Code === 0) setStatus(`Asked the owner of ${room} to co-host.`);
  else setStatus(`Cannot co-host with ${room}: ${result.Message} (code ${result.Code})`, { error: true });
});
$('cohost-leave-btn').addEventListener('click', () => act(() => client.disconnectCoHost()));
$('battle-btn').addEventListener('click', async () => {
  const rooms = coHosts.map((r) => r.RoomId).filter((id) => id !== client.roomId);
  if (rooms.length === 0) {
    setStatus('Co-host with another room first: battles are between connected rooms.', { error: true });
    return;
  }
  const reply = await act(() => client.requestBattle(rooms, Number($('battle-duration').value)));
  if (reply) setStatus(reply.BattleId ? `Battle ${reply.BattleId}: waiting for ${rooms.join(', ')}.`
    : `No room could be invited: ${reply.Results.map((r) => r.ResultMessage).join('; ')}`);
});
$('battle-leave-btn').addEventListener('click', () => act(() => client.leaveBattle()));
$('chat-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const input = $('chat-input');
  const text = input.value;
  if (!text.trim()) return;
  // The message shows when its Message event comes back (the sender gets it too), in MsgSeq order.
  const sent = await act(() => client.sendText(text));
  if (sent) input.value = '';
  input.focus();
});

// Prefill from the query string (?sdkappid=&userId=&userSig=&roomId=&url=&autoEnter=1), so a link
// or a test can open the page ready to go.
const params = new URLSearchParams(location.search);
for (const [param, id] of [['sdkappid', 'sdkappid'], ['userId', 'user-id'], ['userSig', 'user-sig'],
  ['roomId', 'room-id'], ['url', 'gateway-url']]) {
  if (params.has(param)) $(id).value = params.get(param);
}
// ?battleMs=N offers a battle of N ms (a short one for a quick try, or a test).
const battleMs = Number(params.get('battleMs'));
if (Number.isInteger(battleMs) && battleMs >= 1000) {
  const option = el('option', { value: String(battleMs), selected: true }, `${battleMs / 1000} s`);
  $('battle-duration').prepend(option);
  $('battle-duration').value = String(battleMs);
}
setState('idle');
if (params.get('autoEnter') === '1') $('join-form').requestSubmit();
