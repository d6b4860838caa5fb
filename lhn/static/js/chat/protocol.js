// Talking to the server about one channel (docs/realtime.md). Delivery is at-least-once with dedupe by
// message id: the client keeps the last channel event number (seq) it saw; on every (re)connect, on a gap,
// and on `resync` it asks the server for what it missed. Sends carry a client id and are retried until
// acknowledged, one at a time in the order they were typed.

function clientId() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

// hooks: {synced(answer), message(m, event), presence(p), typing(data), channelUpdated(data),
//         sent(id, answer), failed(id, error), askPhi(id, error), error(error), maxId() -> int}
export function createProtocol(LHN, channelId, lastSeq, hooks) {
  var socket = LHN.socket;
  var pending = {}; // client_id -> {body, tries, inFlight, confirmPhi}
  var queue = []; // the pending client ids in the order they were sent: one goes out at a time
  var syncing = false;
  var syncAgain = false;
  var joined = false;
  var readTimer = null;
  var lastTypingSent = 0;

  function sync() {
    if (!socket.connected) return;
    if (syncing) { syncAgain = true; return; }
    syncing = true;
    var request = { channel_id: channelId, last_seq: lastSeq, last_id: hooks.maxId() };
    socket.timeout(10000).emit("join_channel", request, function (err, answer) {
      syncing = false;
      if (err || !answer) { setTimeout(sync, 2000); return; }
      if (!answer.ok) { hooks.error(answer.error); return; }
      joined = true;
      hooks.synced(answer);
      lastSeq = Math.max(lastSeq, answer.last_seq);
      markReadSoon();
      if (answer.has_more || syncAgain) { syncAgain = false; sync(); }
      pump(); // the oldest pending send first, the others one by one after it
    });
  }

  function onEvent(m, event) {
    if (!m || m.channel_id !== channelId) return;
    if (m.seq === lastSeq + 1) lastSeq = m.seq;
    else if (m.seq > lastSeq + 1) sync(); // a gap: something was missed; the replay fills it
    hooks.message(m, event);
    if (event === "message_created") markReadSoon();
  }

  ["message_created", "message_updated", "message_deleted"].forEach(function (event) {
    socket.on(event, function (m) { onEvent(m, event); });
  });
  socket.on("presence", function (p) { hooks.presence(p); });
  socket.on("typing", function (data) { if (data && data.channel_id === channelId) hooks.typing(data); });
  socket.on("channel_updated", function (data) { if (data && data.channel_id === channelId) hooks.channelUpdated(data); });

  LHN.on("connect", sync);
  LHN.on("resync", sync);
  LHN.on("disconnect", function () { joined = false; });
  if (socket.connected) sync();
  // A quiet channel still catches up now and then, in case a live event was lost on the way.
  setInterval(function () { if (document.visibilityState === "visible" && joined) sync(); }, 60000);

  // --- read position ----------------------------------------------------------------------------------
  function markReadSoon() {
    if (document.visibilityState !== "visible") return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (socket.connected) socket.emit("mark_read", { channel_id: channelId, last_id: hooks.maxId() });
    }, 1000);
  }
  document.addEventListener("visibilitychange", markReadSoon);

  // --- sending ------------------------------------------------------------------------------------------
  // One send in flight at a time, oldest first: the next goes out after the previous one's acknowledgement.
  // The server handles each event in its own thread, so messages sent together (a burst, or everything
  // pending after a reconnect) would be stored in whatever order those threads finish.
  function pump() {
    var id = queue[0];
    var item = id && pending[id];
    if (!item || item.inFlight) return;
    if (!socket.connected) return; // resent on reconnect
    item.inFlight = true;
    item.tries += 1;
    var payload = { channel_id: channelId, client_id: id, body: item.body };
    if (item.confirmPhi) payload.confirm_phi = true;
    socket.timeout(8000).emit("send_message", payload, function (err, answer) {
      item.inFlight = false;
      if (err) { // no ack in time, or disconnected: try again with the same client id (stored once on the server)
        if (item.tries < 5) setTimeout(pump, 1000 * item.tries);
        else { dequeue(id); hooks.failed(id, { message: "Not sent: no answer from the server." }); pump(); }
        return;
      }
      dequeue(id);
      if (!answer.ok && answer.error && answer.error.code === "phi_confirmation_required") hooks.askPhi(id, answer.error);
      else if (!answer.ok) hooks.failed(id, answer.error);
      else hooks.sent(id, answer);
      pump();
    });
  }

  function dequeue(id) {
    delete pending[id];
    var at = queue.indexOf(id);
    if (at >= 0) queue.splice(at, 1);
  }

  // Queue a message; returns its client id. Sent after what is already waiting, in the order typed.
  function send(body, confirmPhi) {
    var id = clientId();
    enqueue(id, body, confirmPhi);
    return id;
  }

  function enqueue(id, body, confirmPhi) {
    pending[id] = { body: body, tries: 0, inFlight: false, confirmPhi: confirmPhi === true };
    queue.push(id);
    pump();
  }

  // --- typing, editing, deleting, hiding ------------------------------------------------------------------
  function typed() {
    var now = Date.now();
    if (socket.connected && joined && now - lastTypingSent > 3000) {
      lastTypingSent = now;
      socket.emit("typing", { channel_id: channelId });
    }
  }

  // An event with an acknowledgement: done(answer) when it went through; onPhi(error) when the PHI guard asks.
  function ask(event, data, done, onPhi) {
    socket.timeout(8000).emit(event, data, function (err, answer) {
      if (err) { hooks.error({ message: "No answer from the server; please try again." }); return; }
      if (!answer.ok && answer.error.code === "phi_confirmation_required" && !data.confirm_phi && onPhi) {
        onPhi(answer.error, function () { ask(event, Object.assign({}, data, { confirm_phi: true }), done, onPhi); });
        return;
      }
      if (!answer.ok) { hooks.error(answer.error); return; }
      if (done) done(answer);
    });
  }

  function fetchJSON(method, url, body) {
    var token = document.querySelector('meta[name="csrf-token"]');
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.content : "" },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      if (!response.ok) return response.json().then(function (data) { hooks.error(data.error); });
      return null; // the room's event updates the page
    });
  }

  function hide(messageId, reason) { return fetchJSON("POST", "/api/v1/messages/" + messageId + "/hide", { reason: reason }); }
  function unhide(messageId) { return fetchJSON("DELETE", "/api/v1/messages/" + messageId + "/hide"); }

  // The page of messages before `before`, as the server renders the channel page for this reader.
  function older(before) {
    return fetch(window.location.pathname + "?before=" + encodeURIComponent(before), { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
  }

  return {
    sync: sync, send: send, retry: enqueue, typed: typed, ask: ask, hide: hide, unhide: unhide, older: older,
    isConnected: function () { return socket.connected; },
  };
}
