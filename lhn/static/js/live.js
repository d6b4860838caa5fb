// Live updates shared by every page of a logged-in person: ONE Socket.IO connection per page.
//   LHN.watch("post:12", {answer_posted: fn, vote_changed: fn}) joins a live page's room (again after
//   every reconnect) and returns a function that stops watching.
//   LHN.on("connect" | "disconnect" | "resync" | "state", fn) lets page scripts (chat.js) follow the connection.
//   The header's notification count (#notification-count) follows `notification` events.
// Pages work without this file; it only adds liveness.
(function () {
  "use strict";
  if (!document.body.dataset.user || typeof window.io !== "function") return;

  var LHN = (window.LHN = window.LHN || {});
  var watched = {}; // room -> {event: handler}
  var listeners = {}; // our own events -> [fn]
  var announcer = document.getElementById("live-announcer");

  function fire(name, arg) {
    (listeners[name] || []).forEach(function (fn) {
      try { fn(arg); } catch (err) { if (window.console) console.error(err); }
    });
  }

  // WebSocket first (a long-poll holds a server thread); fall back to polling if WebSocket fails.
  var socket = window.io({ transports: ["websocket"], reconnectionDelay: 1000, reconnectionDelayMax: 10000 });
  var triedPolling = false;
  var stopped = false;
  LHN.socket = socket;
  LHN.state = "connecting";

  function setState(state) {
    LHN.state = state;
    fire("state", state);
  }

  function watchRoom(room) {
    socket.emit("watch", { room: room }, function (answer) {
      if (!answer || !answer.ok) fire("watch_failed", { room: room, error: answer && answer.error });
    });
  }

  socket.on("connect", function () {
    setState("connected");
    Object.keys(watched).forEach(watchRoom);
    fire("connect");
  });

  socket.on("connect_error", function (err) {
    var reason = err && err.message;
    if (reason === "unauthorized") { // logged out (or the session ended): stop, the next page load logs in
      stopped = true;
      setState("signed_out");
      return;
    }
    if (reason === "busy") { // the server is at its socket limit: try again later, gently
      setState("busy");
      setTimeout(function () { if (!stopped) socket.connect(); }, 15000 + Math.random() * 15000);
      return;
    }
    if (!triedPolling && socket.io.opts.transports.indexOf("polling") === -1) {
      triedPolling = true;
      socket.io.opts.transports = ["polling", "websocket"];
    }
    setState("reconnecting");
  });

  socket.on("disconnect", function (reason) {
    setState("reconnecting");
    fire("disconnect", reason);
    // The server closes sockets when a session ends or a membership changes. Reconnecting re-checks
    // every room; a session that ended is refused ("unauthorized") and we stop.
    if (reason === "io server disconnect" && !stopped) {
      setTimeout(function () { socket.connect(); }, 500 + Math.random() * 1500);
    }
  });

  // The server may have missed deliveries (message queue outage): page scripts sync from the database.
  socket.on("resync", function () { fire("resync"); });

  // --- the notification count in the header -------------------------------------------------------------
  var badge = document.getElementById("notification-count");
  socket.on("notification", function (data) {
    if (!badge || !data || typeof data.unread !== "number") return;
    var before = parseInt(badge.textContent, 10) || 0;
    var unread = Math.max(0, data.unread);
    badge.textContent = String(unread);
    badge.setAttribute("aria-label", unread + " unread");
    badge.hidden = unread === 0;
    if (unread > before && announcer) {
      announcer.textContent = data.text
        ? "New notification: " + data.text
        : "You have " + unread + " unread notification" + (unread === 1 ? "" : "s") + ".";
    }
    fire("notification", data);
  });

  // --- badges: a verification granted, revoked, lapsed or suspended shows at once on every open page ---------
  socket.on("badge_changed", function (data) {
    if (!data || typeof data.username !== "string") return;
    var people = document.querySelectorAll(".person[data-username]");
    Array.prototype.forEach.call(people, function (person) {
      if (person.dataset.username !== data.username) return;
      var old = person.querySelector(".badge-verified, .badge-claimed");
      var badge = null;
      if (data.verification === "verified") {
        badge = document.createElement("span");
        badge.className = "badge badge-verified";
        badge.title = "Identity and role checked by a reviewer";
        badge.textContent = "✓ Verified";
      } else if (data.verification === "claimed") {
        badge = document.createElement("span");
        badge.className = "badge badge-claimed";
        badge.title = "Role not yet verified";
        badge.textContent = "Claimed";
      }
      if (old && badge) old.replaceWith(badge);
      else if (old) old.remove();
      else if (badge) {
        var role = person.querySelector(".badge-role");
        if (role) role.after(badge);
      }
    });
    if (data.verification !== "verified") { // a profile's own statement of the verification
      Array.prototype.forEach.call(document.querySelectorAll(".verification-status[data-username]"), function (p) {
        if (p.dataset.username !== data.username) return;
        p.textContent = "This verification has just ended (revoked, lapsed or suspended). Reload the page for details.";
      });
    }
    fire("badge_changed", data);
  });

  // --- the public interface -----------------------------------------------------------------------------
  LHN.on = function (name, fn) {
    (listeners[name] = listeners[name] || []).push(fn);
  };

  LHN.watch = function (room, handlers) {
    var existing = watched[room] || {};
    Object.keys(handlers || {}).forEach(function (event) {
      if (existing[event]) socket.off(event, existing[event]);
      existing[event] = handlers[event];
      socket.on(event, handlers[event]);
    });
    watched[room] = existing;
    if (socket.connected) watchRoom(room);
    return function unwatch() {
      var current = watched[room] || {};
      Object.keys(current).forEach(function (event) { socket.off(event, current[event]); });
      delete watched[room];
      if (socket.connected) socket.emit("unwatch", { room: room });
    };
  };

  LHN.announce = function (text) {
    if (announcer) announcer.textContent = text;
  };
})();
