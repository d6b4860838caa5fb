// Drawing the chat page: messages, who is online, who is typing, slow mode and the connection line.
// A message's markup is never built here: the server renders it with the page's own template
// (templates/chat/_message.html) into each live event's `html`, with every reader's parts marked by
// data-for; `prepare` keeps this reader's parts, exactly as the page's history was rendered for them.

export function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// The page's elements by id: {name: "id"} -> {name: element}.
export function byIds(ids) {
  var found = {};
  Object.keys(ids).forEach(function (name) { found[name] = document.getElementById(ids[name]); });
  return found;
}

export function plain(html) {
  var box = document.createElement("div");
  box.innerHTML = html || ""; // sanitised on the server when the message was stored
  return box.textContent.trim();
}

function localTime(node) {
  var when = new Date(node.getAttribute("datetime"));
  if (!isNaN(when)) {
    node.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    node.title = when.toLocaleString();
  }
}

function fromHtml(html) {
  var box = document.createElement("template");
  box.innerHTML = (html || "").trim();
  return box.content.firstElementChild;
}

// page: {root, me, moderator, patientSpace}
export function createView(page) {
  var ui = byIds({ list: "chat-messages", scroller: "chat-scroll", typingLine: "chat-typing", announcer: "chat-announcer",
    connection: "chat-connection", onlineCount: "online-count", onlineList: "online-list", slowLine: "chat-slow-mode",
    slowEvery: "chat-slow-mode-every" });
  var list = ui.list, scroller = ui.scroller, typingLine = ui.typingLine, announcer = ui.announcer;
  var connection = ui.connection, onlineCount = ui.onlineCount, onlineList = ui.onlineList;
  var slowLine = ui.slowLine, slowEvery = ui.slowEvery;
  var token = document.querySelector('meta[name="csrf-token"]');
  var typists = {}; // key -> {name, until}

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function toBottom() { scroller.scrollTop = scroller.scrollHeight; }

  function messageNodes() { return list.querySelectorAll("li.chat-message[data-id]:not(.chat-pending)"); }

  function maxId() {
    var nodes = messageNodes();
    return nodes.length ? parseInt(nodes[nodes.length - 1].dataset.id, 10) : 0;
  }

  function isOwn(li) { return !!page.me && li.dataset.sender === page.me; }

  // Keep what this reader sees of a message. `kept`: a hidden message's text, for its author and the
  // moderators (the room's event carries none; the join answer does, and so did the message before).
  function prepare(li, kept) {
    var own = isOwn(li);
    li.classList.toggle("chat-own", own);
    li.querySelectorAll("[data-for]").forEach(function (part) {
      var keep = part.dataset.for.split(" ").some(function (audience) {
        return (audience === "own" && own) || (audience === "others" && !own) || (audience === "moderators" && page.moderator);
      });
      if (!keep) part.remove();
    });
    if (!own) li.removeAttribute("data-source");
    li.querySelectorAll('input[name="csrf_token"]').forEach(function (input) {
      if (!input.value && token) input.value = token.content;
    });
    var original = li.querySelector(".chat-hidden-original");
    if (original && !original.innerHTML.trim()) {
      if (kept) original.innerHTML = kept;
      else original.remove();
    }
    var body = li.querySelector(".chat-body");
    if (body) li.dataset.html = body.innerHTML;
    var edit = li.querySelector(".chat-edit");
    if (edit) edit.hidden = false;
    li.querySelectorAll("time[datetime]").forEach(localTime);
    return li;
  }

  function announce(text) { if (announcer) announcer.textContent = text; }

  // Insert or replace a message, in id order; an older state (lower seq) never overwrites a newer one.
  // `m` is a payload with its `html`; opts.live announces it, opts.older keeps the reader's scroll place.
  function apply(m, opts) {
    opts = opts || {};
    var existing = document.getElementById("message-" + m.id);
    if (existing && existing.dataset.seq && parseInt(existing.dataset.seq, 10) > m.seq) return existing;
    var node = fromHtml(m.html);
    if (!node) return existing;
    prepare(node, m.body_html || (existing && existing.dataset.html) || null);
    if (!existing && isOwn(node)) { // our own message, back from the room: it replaces its "Sending…" echo
      var echo = list.querySelector('li.chat-pending[data-client-id="' + m.client_id + '"]');
      if (echo) echo.remove();
    }
    place(node, existing, opts);
    if (!existing && opts.live && !isOwn(node)) {
      announce((m.sender ? m.sender.display_name : "Someone") + ": " + (m.body_html ? plain(m.body_html).slice(0, 200) : "(hidden)"));
    }
    return node;
  }

  function place(node, existing, opts) {
    var wasBottom = nearBottom();
    if (existing) {
      existing.replaceWith(node);
    } else {
      var empty = document.getElementById("chat-empty");
      if (empty) empty.remove();
      var id = parseInt(node.dataset.id, 10);
      var after = null;
      var nodes = messageNodes();
      for (var i = nodes.length - 1; i >= 0; i--) {
        if (parseInt(nodes[i].dataset.id, 10) < id) { after = nodes[i]; break; }
      }
      if (after) after.after(node);
      else list.insertBefore(node, list.querySelector("li.chat-message, li.chat-pending"));
    }
    if (!opts.older && (wasBottom || isOwn(node))) toBottom();
  }

  // Messages of an older page, as the server rendered them for this reader (the page's own history).
  function addOlder(nodes) {
    var height = scroller.scrollHeight;
    nodes.forEach(function (node) {
      if (!document.getElementById(node.id)) place(prepare(document.adoptNode(node), null), null, { older: true });
    });
    scroller.scrollTop += scroller.scrollHeight - height; // keep the reader's place
  }

  function removeMessages() { messageNodes().forEach(function (node) { node.remove(); }); }

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
    page.root.classList.toggle("chat-offline", state !== "connected");
  }

  function showPresence(p, channelId) {
    if (!p || p.channel_id !== channelId) return;
    onlineCount.textContent = p.count === 1 ? "1 person online" : p.count + " people online";
    if (page.patientSpace) onlineCount.textContent += " (names are not shown in patient spaces)";
    onlineList.textContent = "";
    (p.online || []).forEach(function (person) {
      var li = el("li");
      if (person.html) li.innerHTML = person.html; // the badge macro, rendered by the server
      else li.appendChild(el("span", "person-name", person.display_name));
      onlineList.appendChild(li);
    });
  }

  function typing(data) {
    var key = data.user ? data.user.username : "someone";
    if (key === page.me) return;
    typists[key] = { name: data.user ? data.user.display_name : null, until: Date.now() + 6000 };
    drawTyping();
  }

  function stoppedTyping(username) {
    if (username && typists[username]) { delete typists[username]; drawTyping(); }
  }

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

  function showSlowMode(seconds) {
    if (!slowLine) return "";
    slowLine.hidden = !seconds;
    if (!seconds) return "";
    var n = seconds, unit = "second";
    if (seconds % 3600 === 0) { n = seconds / 3600; unit = "hour"; }
    else if (seconds % 60 === 0) { n = seconds / 60; unit = "minute"; }
    slowEvery.textContent = n + " " + unit + (n === 1 ? "" : "s");
    return slowEvery.textContent;
  }

  // First paint: the history the server rendered for this reader.
  messageNodes().forEach(function (li) { prepare(li, null); });
  var marker = document.getElementById("unread-marker");
  if (marker) marker.scrollIntoView({ block: "center" });
  else toBottom();

  return {
    list: list, apply: apply, addOlder: addOlder, removeMessages: removeMessages, maxId: maxId,
    toBottom: toBottom, announce: announce, showConnection: showConnection, showPresence: showPresence,
    typing: typing, stoppedTyping: stoppedTyping, showSlowMode: showSlowMode,
  };
}
