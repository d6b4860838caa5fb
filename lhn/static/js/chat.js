// The chat page, live: messages arrive, edits and deletes propagate, typing and who is online show.
// Protocol: docs/realtime.md. Delivery is at-least-once with dedupe by message id: the client keeps the
// last channel event number (seq) it saw; on every (re)connect, on a gap, and on `resync` it asks the
// server for what it missed. Sends carry a client id and are retried until acknowledged,
// one at a time in the order they were typed.
// Without JavaScript the page still reads and posts (server-rendered, plain forms).
(function () {
  "use strict";
  var root = document.getElementById("chat");
  var LHN = window.LHN;
  if (!root || !LHN || !LHN.socket) return;

  var socket = LHN.socket;
  var channelId = parseInt(root.dataset.channelId, 10);
  var me = root.dataset.me;
  var moderator = root.dataset.moderator === "1";
  var patientSpace = root.dataset.patientSpace === "1";
  var maxChars = parseInt(root.dataset.maxChars, 10) || 4000;
  var lastSeq = parseInt(root.dataset.lastSeq, 10) || 0;
  var list = document.getElementById("chat-messages");
  var scroller = document.getElementById("chat-scroll");
  var form = document.getElementById("composer");
  var textarea = document.getElementById("body");
  var counter = document.getElementById("chat-counter");
  var sendError = document.getElementById("chat-send-error");
  var typingLine = document.getElementById("chat-typing");
  var announcer = document.getElementById("chat-announcer");
  var connection = document.getElementById("chat-connection");
  var onlineCount = document.getElementById("online-count");
  var onlineList = document.getElementById("online-list");
  var olderLink = document.getElementById("chat-older");
  var phiPanel = document.getElementById("chat-phi");
  var phiText = document.getElementById("chat-phi-text");
  var slowLine = document.getElementById("chat-slow-mode");
  var slowEvery = document.getElementById("chat-slow-mode-every");
  var phiHeld = null; // the text the PHI guard stopped, until the author confirms or edits it
  var pending = {}; // client_id -> {body, element, tries, inFlight, confirmPhi}
  var queue = []; // the pending client ids in the order they were sent: one goes out at a time
  var syncing = false;
  var syncAgain = false;
  var joined = false;

  // --- small helpers -------------------------------------------------------------------------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function clientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function toBottom() { scroller.scrollTop = scroller.scrollHeight; }

  function localTime(node) {
    var when = new Date(node.getAttribute("datetime"));
    if (!isNaN(when)) {
      node.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      node.title = when.toLocaleString();
    }
  }

  function plain(html) {
    var box = document.createElement("div");
    box.innerHTML = html || ""; // sanitised on the server when the message was stored
    return box.textContent.trim();
  }

  function messageNodes() { return list.querySelectorAll("li.chat-message[data-id]:not(.chat-pending)"); }

  function maxId() {
    var nodes = messageNodes();
    return nodes.length ? parseInt(nodes[nodes.length - 1].dataset.id, 10) : 0;
  }

  // --- drawing a message (the same markup as templates/chat/_message.html) ---------------------------------
  var ROLE_LABELS = { patient: "Patient", caregiver: "Caregiver", clinician: "Clinician", researcher: "Researcher", other: "Other" };

  function personEl(p) {
    var span = el("span", "person");
    if (!p || p.username === "former_member") { // a deleted member: no profile, no role to claim
      span.appendChild(el("span", "person-name", "Former member"));
      return span;
    }
    span.dataset.username = p.username; // live.js redraws the badge when a verification changes
    var name = el("a", "person-name", p.display_name);
    name.href = "/u/" + encodeURIComponent(p.username);
    span.appendChild(name);
    span.appendChild(el("span", "badge badge-role badge-" + p.role, ROLE_LABELS[p.role] || p.role));
    if (p.verification === "verified") {
      var v = el("span", "badge badge-verified", "✓ Verified");
      v.title = "Identity and role checked by a reviewer";
      span.appendChild(v);
    } else if (p.verification === "claimed") {
      span.appendChild(el("span", "badge badge-claimed", "Claimed"));
    }
    if (p.is_admin) span.appendChild(el("span", "badge badge-admin", "Site admin"));
    else if (p.is_verifier) span.appendChild(el("span", "badge badge-admin", "Verifier"));
    if (p.community_role && p.community_role !== "member") {
      span.appendChild(el("span", "badge badge-community", p.community_role.charAt(0).toUpperCase() + p.community_role.slice(1)));
    }
    return span;
  }

  function draw(m, previous) {
    var own = m.sender && m.sender.username === me;
    var li = el("li", "chat-message");
    li.id = "message-" + m.id;
    li.dataset.id = m.id;
    li.dataset.seq = m.seq;
    li.dataset.sender = m.sender ? m.sender.username : "";
    li.dataset.clientId = m.client_id;
    if (own) li.classList.add("chat-own");
    if (m.hidden) li.classList.add("chat-hidden");
    if (m.deleted) li.classList.add("chat-deleted");

    var meta = el("div", "chat-meta");
    meta.appendChild(personEl(m.sender));
    var time = el("time");
    time.setAttribute("datetime", m.created_at);
    localTime(time);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(time);
    if (m.edited_at && !m.deleted) meta.appendChild(el("span", "chat-edited", "(edited)"));
    li.appendChild(meta);

    if (m.deleted) {
      li.appendChild(el("p", "chat-placeholder", "This message was deleted by its author."));
      return li;
    }
    if (m.hidden) {
      li.appendChild(el("p", "chat-placeholder", "Hidden by a moderator: " + m.hidden.reason));
      // The author and moderators keep seeing the text (the room's event carries none; keep what we had).
      var original = m.body_html || (previous && previous.dataset.html) || null;
      if ((own || moderator) && original) {
        var kept = el("div", "chat-body prose chat-hidden-original");
        kept.dataset.hiddenNote = "Only you and the moderators see this.";
        kept.innerHTML = original;
        li.appendChild(kept);
        li.dataset.html = original;
      }
    } else {
      var body = el("div", "chat-body prose");
      body.innerHTML = m.body_html; // sanitised on the server (lhn/markup/)
      li.appendChild(body);
      li.dataset.html = m.body_html;
      li.dataset.source = m.body;
    }
    var actions = el("div", "chat-actions");
    if (own && !m.hidden) {
      var edit = el("button", "link-button chat-edit", "Edit");
      edit.type = "button";
      var del = el("button", "link-button chat-delete", "Delete");
      del.type = "button";
      actions.appendChild(edit);
      actions.appendChild(del);
    }
    if (!own && !m.hidden) {
      var flag = el("a", "link-button chat-flag", "Flag");
      flag.href = "/flag/chat_message/" + m.id;
      flag.setAttribute("aria-label", "Flag this message for the moderators");
      actions.appendChild(flag);
    }
    if (moderator) {
      var hide = el("button", "link-button chat-hide-button", m.hidden ? "Unhide" : "Hide");
      hide.type = "button";
      actions.appendChild(hide);
    }
    if (actions.childNodes.length) li.appendChild(actions);
    return li;
  }

  // Insert or replace a message, in id order; an older state (lower seq) never overwrites a newer one.
  function apply(m, opts) {
    opts = opts || {};
    var existing = document.getElementById("message-" + m.id);
    if (existing && existing.dataset.seq && parseInt(existing.dataset.seq, 10) > m.seq) return existing;
    var wasBottom = nearBottom();
    var node = draw(m, existing);
    if (existing) {
      existing.replaceWith(node);
    } else {
      var empty = document.getElementById("chat-empty");
      if (empty) empty.remove();
      var echo = m.sender && m.sender.username === me && list.querySelector('li.chat-pending[data-client-id="' + m.client_id + '"]');
      if (echo) echo.remove();
      var after = null;
      var nodes = messageNodes();
      for (var i = nodes.length - 1; i >= 0; i--) {
        if (parseInt(nodes[i].dataset.id, 10) < m.id) { after = nodes[i]; break; }
      }
      if (after) after.after(node);
      else list.insertBefore(node, list.querySelector("li.chat-message, li.chat-pending"));
      if (opts.live && !(m.sender && m.sender.username === me)) {
        announce((m.sender ? m.sender.display_name : "Someone") + ": " + (m.body_html ? plain(m.body_html).slice(0, 200) : "(hidden)"));
      }
    }
    if (!opts.older && (wasBottom || (m.sender && m.sender.username === me))) toBottom();
    return node;
  }

  function announce(text) { if (announcer) announcer.textContent = text; }

  // --- joining and catching up -------------------------------------------------------------------------
  function showConnection(state) {
    var text = {
      connected: "",
      connecting: "Connecting…",
      reconnecting: "Connection lost. Reconnecting… Messages you send will go out when it is back.",
      busy: "The server is busy; live updates will resume shortly. Reload to see new messages.",
      signed_out: "You are signed out. Reload the page to log in again.",
    }[state];
    connection.textContent = text || "";
    connection.hidden = !text;
    root.classList.toggle("chat-offline", state !== "connected");
  }

  function sync() {
    if (!socket.connected) return;
    if (syncing) { syncAgain = true; return; }
    syncing = true;
    var request = { channel_id: channelId, last_seq: lastSeq, last_id: maxId() };
    socket.timeout(10000).emit("join_channel", request, function (err, answer) {
      syncing = false;
      if (err || !answer) { setTimeout(sync, 2000); return; }
      if (!answer.ok) { showError(answer.error); return; }
      joined = true;
      if (answer.reset) {
        // The gap was too wide: show the latest page (older history stays a click away).
        messageNodes().forEach(function (node) { node.remove(); });
      }
      answer.messages.forEach(function (m) { apply(m); });
      lastSeq = Math.max(lastSeq, answer.last_seq);
      if (answer.presence) showPresence(answer.presence);
      if (answer.channel && "slow_mode_seconds" in answer.channel) showSlowMode(answer.channel.slow_mode_seconds);
      markReadSoon();
      if (answer.has_more || syncAgain) { syncAgain = false; sync(); }
      resendPending();
    });
  }

  function onEvent(m, event) {
    if (!m || m.channel_id !== channelId) return;
    if (m.seq === lastSeq + 1) lastSeq = m.seq;
    else if (m.seq > lastSeq + 1) sync(); // a gap: something was missed; the replay fills it
    apply(m, { live: event === "message_created" });
    if (event === "message_created") {
      if (m.sender && typists[m.sender.username]) { delete typists[m.sender.username]; drawTyping(); }
      markReadSoon();
    }
  }

  socket.on("message_created", function (m) { onEvent(m, "message_created"); });
  socket.on("message_updated", function (m) { onEvent(m, "message_updated"); });
  socket.on("message_deleted", function (m) { onEvent(m, "message_deleted"); });

  LHN.on("connect", sync);
  LHN.on("resync", sync);
  LHN.on("state", showConnection);
  LHN.on("disconnect", function () { joined = false; });
  showConnection(LHN.state === "connected" ? "connected" : "connecting");
  if (socket.connected) sync();
  // A quiet channel still catches up now and then, in case a live event was lost on the way.
  setInterval(function () { if (document.visibilityState === "visible" && joined) sync(); }, 60000);

  // --- read position ----------------------------------------------------------------------------------------
  var readTimer = null;
  function markReadSoon() {
    if (document.visibilityState !== "visible") return;
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      if (socket.connected) socket.emit("mark_read", { channel_id: channelId, last_id: maxId() });
    }, 1000);
  }
  document.addEventListener("visibilitychange", markReadSoon);

  // --- sending ------------------------------------------------------------------------------------------------
  function showError(error) {
    if (!error) return;
    sendError.textContent = error.message + (error.fields && error.fields.body ? " " + error.fields.body : "");
    sendError.hidden = false;
  }

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
        else { failed(id, { message: "Not sent: no answer from the server." }); pump(); }
        return;
      }
      if (!answer.ok && answer.error && answer.error.code === "phi_confirmation_required") askPhi(id, answer.error);
      else if (!answer.ok) failed(id, answer.error);
      else sent(id, item, answer);
      pump();
    });
  }

  function dequeue(id) {
    delete pending[id];
    var at = queue.indexOf(id);
    if (at >= 0) queue.splice(at, 1);
  }

  function sent(id, item, answer) {
    dequeue(id);
    item.element.dataset.id = answer.id;
    var live = document.getElementById("message-" + answer.id);
    if (live) item.element.remove(); // the broadcast arrived first
    else {
      item.element.classList.add("chat-sent");
      item.element.querySelector(".chat-sending").textContent = "Sent";
      // The broadcast will replace the echo; if it never comes, the next sync brings the message.
      setTimeout(function () { if (item.element.isConnected) sync(); }, 3000);
    }
  }

  function failed(id, error) {
    var item = pending[id];
    if (!item) return;
    dequeue(id);
    item.element.classList.add("chat-failed");
    var status = item.element.querySelector(".chat-sending");
    status.textContent = "Not sent: " + ((error && error.message) || "please try again") + " ";
    var retry = el("button", "link-button", "Try again");
    retry.type = "button";
    retry.addEventListener("click", function () {
      item.element.classList.remove("chat-failed");
      status.textContent = "Sending…";
      item.tries = 0;
      pending[id] = item;
      queue.push(id); // after what is already waiting: sent in the order the author sends
      pump();
    });
    status.appendChild(retry);
  }

  // The PHI guard found something that looks like an identifier: give the text back to its author,
  // say what was found, and let them edit it or send it as written (confirm_phi; the server records that).
  function firstSentence(text) {
    var end = (text || "").indexOf(". ");
    return end > 0 ? text.slice(0, end + 1) : (text || "This may contain personal details.");
  }

  function askPhi(id, error) {
    var item = pending[id];
    if (!item) return;
    dequeue(id);
    item.element.remove();
    phiHeld = item.body;
    if (!textarea.value.trim()) { textarea.value = item.body; updateCounter(); }
    phiText.textContent = firstSentence(error.message);
    phiPanel.hidden = false;
    document.getElementById("chat-phi-send").focus();
  }

  function closePhi() { phiPanel.hidden = true; phiHeld = null; }

  if (phiPanel) {
    document.getElementById("chat-phi-send").addEventListener("click", function () {
      var body = textarea.value.trim() || phiHeld;
      closePhi();
      if (body) { textarea.value = body; send(true); }
    });
    document.getElementById("chat-phi-edit").addEventListener("click", function () {
      closePhi();
      textarea.focus();
    });
  }

  function resendPending() { pump(); } // the oldest first, the others one by one after it

  function send(confirmPhi) {
    var body = textarea.value.trim();
    sendError.hidden = true;
    if (phiPanel && confirmPhi !== true) closePhi();
    if (!body) return;
    if (body.length > maxChars) { showError({ message: "Messages are limited to " + maxChars + " characters." }); return; }
    var id = clientId();
    var echo = el("li", "chat-message chat-own chat-pending");
    echo.dataset.clientId = id;
    var meta = el("div", "chat-meta");
    meta.appendChild(el("span", "person-name", "You"));
    meta.appendChild(el("span", "chat-sending", socket.connected ? "Sending…" : "Waiting for the connection…"));
    echo.appendChild(meta);
    echo.appendChild(el("div", "chat-body chat-pending-body", body));
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    list.appendChild(echo);
    toBottom();
    pending[id] = { body: body, element: echo, tries: 0, inFlight: false, confirmPhi: confirmPhi === true };
    queue.push(id);
    textarea.value = "";
    updateCounter();
    pump();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var box = document.getElementById("confirm_phi"); // the no-JavaScript prompt, after a page round trip
    send(!!(box && box.checked));
  });
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });

  // --- typing ----------------------------------------------------------------------------------------------------
  var lastTypingSent = 0;
  function updateCounter() {
    var left = maxChars - textarea.value.length;
    counter.textContent = left < 200 ? left + " characters left." : "Up to " + maxChars + " characters.";
    counter.classList.toggle("error", left < 0);
  }
  textarea.addEventListener("input", function () {
    updateCounter();
    var now = Date.now();
    if (textarea.value.trim() && socket.connected && joined && now - lastTypingSent > 3000) {
      lastTypingSent = now;
      socket.emit("typing", { channel_id: channelId });
    }
  });

  var typists = {}; // key -> {name, until}
  socket.on("typing", function (data) {
    if (!data || data.channel_id !== channelId) return;
    var key = data.user ? data.user.username : "someone";
    if (key === me) return;
    typists[key] = { name: data.user ? data.user.display_name : null, until: Date.now() + 6000 };
    drawTyping();
  });
  function drawTyping() {
    var now = Date.now();
    var names = [];
    var someone = 0;
    Object.keys(typists).forEach(function (key) {
      if (typists[key].until < now) delete typists[key];
      else if (typists[key].name) names.push(typists[key].name);
      else someone += 1;
    });
    var text = "";
    if (names.length === 1 && !someone) text = names[0] + " is typing…";
    else if (names.length === 2 && !someone) text = names[0] + " and " + names[1] + " are typing…";
    else if (names.length + someone > 1) text = "Several people are typing…";
    else if (someone) text = "Someone is typing…";
    if (typingLine.textContent !== text) typingLine.textContent = text;
  }
  setInterval(drawTyping, 1000);

  // --- who is online ----------------------------------------------------------------------------------------------
  function showPresence(p) {
    if (!p || p.channel_id !== channelId) return;
    onlineCount.textContent = p.count === 1 ? "1 person online" : p.count + " people online";
    if (patientSpace) onlineCount.textContent += " (names are not shown in patient spaces)";
    onlineList.textContent = "";
    (p.online || []).forEach(function (person) {
      var li = el("li");
      li.appendChild(personEl(person));
      onlineList.appendChild(li);
    });
  }
  socket.on("presence", showPresence);

  // --- slow mode (set by a moderator; the server enforces it) ---------------------------------------------------
  function showSlowMode(seconds) {
    if (!slowLine) return;
    slowLine.hidden = !seconds;
    if (!seconds) return;
    var n = seconds, unit = "second";
    if (seconds % 3600 === 0) { n = seconds / 3600; unit = "hour"; }
    else if (seconds % 60 === 0) { n = seconds / 60; unit = "minute"; }
    slowEvery.textContent = n + " " + unit + (n === 1 ? "" : "s");
  }
  socket.on("channel_updated", function (data) {
    if (!data || data.channel_id !== channelId) return;
    if ("slow_mode_seconds" in data) {
      showSlowMode(data.slow_mode_seconds);
      announce(data.slow_mode_seconds ? "Slow mode is on: " + slowEvery.textContent + " between messages." : "Slow mode is off.");
    }
  });

  // --- editing, deleting, hiding ------------------------------------------------------------------------------------
  function ask(event, data, done) {
    socket.timeout(8000).emit(event, data, function (err, answer) {
      if (err) { showError({ message: "No answer from the server; please try again." }); return; }
      if (!answer.ok && answer.error.code === "phi_confirmation_required" && !data.confirm_phi) {
        if (window.confirm(firstSentence(answer.error.message) + " Other members will see it. Save it anyway?")) {
          ask(event, Object.assign({}, data, { confirm_phi: true }), done);
        }
        return;
      }
      if (!answer.ok) { showError(answer.error); return; }
      if (done) done(answer);
    });
  }

  list.addEventListener("click", function (event) {
    var target = event.target;
    var li = target.closest("li.chat-message[data-id]");
    if (!li) return;
    var id = parseInt(li.dataset.id, 10);
    if (target.classList.contains("chat-edit")) {
      startEdit(li, id);
    } else if (target.classList.contains("chat-delete")) {
      event.preventDefault();
      if (window.confirm("Delete this message? Its text will be erased for everyone.")) {
        ask("delete_message", { message_id: id });
      }
    } else if (target.classList.contains("chat-hide-button")) {
      if (target.textContent === "Unhide") {
        fetchJSON("DELETE", "/api/v1/messages/" + id + "/hide");
      } else {
        var reason = window.prompt("Why hide this message? Readers will see the reason.");
        if (reason && reason.trim()) fetchJSON("POST", "/api/v1/messages/" + id + "/hide", { reason: reason.trim() });
      }
    }
  });

  function fetchJSON(method, url, body) {
    var token = document.querySelector('meta[name="csrf-token"]');
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.content : "" },
      body: body ? JSON.stringify(body) : undefined,
    }).then(function (response) {
      if (!response.ok) return response.json().then(function (data) { showError(data.error); });
      return null; // the room's event updates the page
    });
  }

  function startEdit(li, id) {
    if (li.querySelector(".chat-edit-form")) return;
    var bodyNode = li.querySelector(".chat-body");
    var editor = el("form", "chat-edit-form");
    var label = el("label", "visually-hidden", "Edit your message");
    var box = el("textarea");
    box.id = "edit-" + id;
    label.setAttribute("for", box.id);
    box.value = li.dataset.source || (bodyNode ? bodyNode.textContent.trim() : "");
    box.maxLength = maxChars;
    box.rows = 3;
    var save = el("button", "button button-small", "Save");
    save.type = "submit";
    var cancel = el("button", "button button-small button-secondary", "Cancel");
    cancel.type = "button";
    editor.appendChild(label);
    editor.appendChild(box);
    editor.appendChild(save);
    editor.appendChild(document.createTextNode(" "));
    editor.appendChild(cancel);
    if (bodyNode) bodyNode.hidden = true;
    li.appendChild(editor);
    box.focus();
    cancel.addEventListener("click", function () { editor.remove(); if (bodyNode) bodyNode.hidden = false; });
    box.addEventListener("keydown", function (e) {
      if (e.key === "Escape") cancel.click();
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); editor.requestSubmit(); }
    });
    editor.addEventListener("submit", function (e) {
      e.preventDefault();
      ask("edit_message", { message_id: id, body: box.value }, function () { editor.remove(); });
    });
  }

  // --- older history (scrolling up) ---------------------------------------------------------------------------------
  if (olderLink) {
    olderLink.addEventListener("click", function (event) {
      event.preventDefault();
      var first = list.querySelector("li.chat-message[data-id]");
      var before = first ? first.dataset.id : olderLink.dataset.before;
      fetch("/api/v1/channels/" + channelId + "/messages?before=" + encodeURIComponent(before), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (page) {
          var height = scroller.scrollHeight;
          (page.items || []).forEach(function (m) { apply(m, { older: true }); });
          scroller.scrollTop += scroller.scrollHeight - height; // keep the reader's place
          if (!page.next_cursor) olderLink.parentNode.remove();
          announce((page.items || []).length + " older messages loaded.");
        });
    });
  }

  // --- first paint ----------------------------------------------------------------------------------------------
  list.querySelectorAll("time[datetime]").forEach(localTime);
  list.querySelectorAll("li.chat-message[data-id]").forEach(function (li) {
    var body = li.querySelector(".chat-body");
    if (body) li.dataset.html = body.innerHTML;
    var edit = li.querySelector(".chat-edit");
    if (edit) edit.hidden = false;
  });
  var marker = document.getElementById("unread-marker");
  if (marker) marker.scrollIntoView({ block: "center" });
  else toBottom();
  updateCounter();
})();
