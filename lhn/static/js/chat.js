// The chat page, live: messages arrive, edits and deletes propagate, typing and who is online show.
// Three modules under js/chat/: protocol.js (the socket conversation: sync, sends, acknowledgements),
// render.js (drawing what the server rendered, presence, typing) and composer.js (writing, editing,
// the message actions). This file wires them to the page. Protocol: docs/realtime.md.
// Without JavaScript the page still reads and posts (server-rendered, plain forms).
import { createComposer } from "./chat/composer.js";
import { createProtocol } from "./chat/protocol.js";
import { createView } from "./chat/render.js";

var root = document.getElementById("chat");
var LHN = window.LHN;

if (root && LHN && LHN.socket) {
  var channelId = parseInt(root.dataset.channelId, 10);
  var page = {
    root: root,
    me: root.dataset.me,
    moderator: root.dataset.moderator === "1",
    patientSpace: root.dataset.patientSpace === "1",
    maxChars: parseInt(root.dataset.maxChars, 10) || 4000,
    nothingToSend: root.dataset.nothingToSend, // the server's words for an empty message
    tooLong: root.dataset.tooLong, // and for a long one: "... {limit} characters ({length} now)."
  };
  var view = createView(page);
  var composer = null;
  var protocol = createProtocol(LHN, channelId, parseInt(root.dataset.lastSeq, 10) || 0, {
    maxId: view.maxId,
    synced: function (answer) {
      // A gap too wide: the answer is the latest page (older history stays a click away).
      if (answer.reset) view.removeMessages();
      answer.messages.forEach(function (m) { view.apply(m); });
      if (answer.presence) view.showPresence(answer.presence, channelId);
      if (answer.channel && "slow_mode_seconds" in answer.channel) view.showSlowMode(answer.channel.slow_mode_seconds);
    },
    message: function (m, event) {
      view.apply(m, { live: event === "message_created" });
      if (event === "message_created" && m.sender) view.stoppedTyping(m.sender.username);
    },
    presence: function (p) { view.showPresence(p, channelId); },
    typing: view.typing,
    channelUpdated: function (data) {
      if (!("slow_mode_seconds" in data)) return;
      var every = view.showSlowMode(data.slow_mode_seconds);
      view.announce(data.slow_mode_seconds ? "Slow mode is on: " + every + " between messages." : "Slow mode is off.");
    },
    sent: function (id, answer) { composer.sent(id, answer); },
    failed: function (id, error) { composer.failed(id, error); },
    askPhi: function (id, error) { composer.askPhi(id, error); },
    error: function (error) { composer.showError(error); },
  });
  composer = createComposer(page, view, protocol);

  LHN.on("state", view.showConnection);
  view.showConnection(LHN.state === "connected" ? "connected" : "connecting");

  // Older history (scrolling up): the server's page of older messages, drawn as the page's own history.
  var olderLink = document.getElementById("chat-older");
  if (olderLink) {
    olderLink.addEventListener("click", function (event) {
      event.preventDefault();
      var first = view.list.querySelector("li.chat-message[data-id]");
      protocol.older(first ? first.dataset.id : olderLink.dataset.before).then(function (doc) {
        var nodes = Array.prototype.slice.call(doc.querySelectorAll("#chat-messages > li.chat-message[data-id]"));
        view.addOlder(nodes);
        if (!doc.getElementById("chat-older")) olderLink.parentNode.remove();
        view.announce(nodes.length + " older messages loaded.");
      });
    });
  }
}
