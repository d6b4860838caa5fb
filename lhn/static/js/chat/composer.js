// Writing in the chat: the composer (Enter sends, a "Sending…" echo until the server has it, a retry
// button when it failed), the PHI guard's prompt, editing one's own message in place, and the message
// actions (delete, hide, unhide) sent over the socket or the API instead of a page round trip.
import { byIds, el } from "./render.js";

// The PHI guard's message, first sentence only ("This looks like a phone number.").
function firstSentence(text) {
  var end = (text || "").indexOf(". ");
  return end > 0 ? text.slice(0, end + 1) : (text || "This may contain personal details.");
}

export function createComposer(page, view, protocol) {
  var ui = byIds({ form: "composer", textarea: "body", counter: "chat-counter", sendError: "chat-send-error",
    phiPanel: "chat-phi", phiText: "chat-phi-text" });
  var form = ui.form, textarea = ui.textarea, counter = ui.counter, sendError = ui.sendError;
  var phiPanel = ui.phiPanel, phiText = ui.phiText;
  var phiHeld = null; // the text the PHI guard stopped, until the author confirms or edits it
  var echoes = {}; // client_id -> {element, body, confirmPhi}

  function showError(error) {
    if (!error) return;
    sendError.textContent = error.message + (error.fields && error.fields.body ? " " + error.fields.body : "");
    sendError.hidden = false;
  }

  function updateCounter() {
    var left = page.maxChars - textarea.value.length;
    counter.textContent = left < 200 ? left + " characters left." : "Up to " + page.maxChars + " characters.";
    counter.classList.toggle("error", left < 0);
  }

  // --- sending --------------------------------------------------------------------------------------------
  function echo(id, body) { // not a message yet: what the author typed, until the room sends it back
    var li = el("li", "chat-message chat-own chat-pending");
    li.dataset.clientId = id;
    var meta = el("div", "chat-meta");
    meta.appendChild(el("span", "person-name", "You"));
    meta.appendChild(el("span", "chat-sending", protocol.isConnected() ? "Sending…" : "Waiting for the connection…"));
    li.appendChild(meta);
    li.appendChild(el("div", "chat-body chat-pending-body", body));
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    view.list.appendChild(li);
    view.toBottom();
    return li;
  }

  function send(confirmPhi) {
    var body = textarea.value.trim();
    sendError.hidden = true;
    if (phiPanel && confirmPhi !== true) closePhi();
    if (!body) { showError({ message: page.nothingToSend }); textarea.focus(); return; }
    if (body.length > page.maxChars) {
      showError({ message: page.tooLong.replace("{limit}", page.maxChars).replace("{length}", body.length) });
      return;
    }
    textarea.value = "";
    updateCounter();
    var id = protocol.send(body, confirmPhi === true); // its answer comes back later, never before this returns
    echoes[id] = { element: echo(id, body), body: body, confirmPhi: confirmPhi === true };
  }

  function sent(id, answer) {
    var item = echoes[id];
    delete echoes[id];
    if (!item || !item.element) return;
    item.element.dataset.id = answer.id;
    if (document.getElementById("message-" + answer.id)) item.element.remove(); // the broadcast arrived first
    else {
      item.element.classList.add("chat-sent");
      item.element.querySelector(".chat-sending").textContent = "Sent";
      // The broadcast will replace the echo; if it never comes, the next sync brings the message.
      setTimeout(function () { if (item.element.isConnected) protocol.sync(); }, 3000);
    }
  }

  function failed(id, error) {
    var item = echoes[id];
    if (!item || !item.element) return;
    delete echoes[id];
    item.element.classList.add("chat-failed");
    var status = item.element.querySelector(".chat-sending");
    status.textContent = "Not sent: " + ((error && error.message) || "please try again") + " ";
    var retry = el("button", "link-button", "Try again");
    retry.type = "button";
    retry.addEventListener("click", function () {
      item.element.classList.remove("chat-failed");
      status.textContent = "Sending…";
      echoes[id] = item;
      protocol.retry(id, item.body, item.confirmPhi); // after what is already waiting: in the order the author sends
    });
    status.appendChild(retry);
  }

  // The PHI guard found something that looks like an identifier: give the text back to its author,
  // say what was found, and let them edit it or send it as written (confirm_phi; the server records that).
  function askPhi(id, error) {
    var item = echoes[id];
    delete echoes[id];
    if (!item) return;
    if (item.element) item.element.remove();
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
  textarea.addEventListener("input", function () {
    updateCounter();
    if (textarea.value.trim()) protocol.typed();
  });

  // --- editing, deleting, hiding ----------------------------------------------------------------------------
  function confirmPhi(error, again) {
    if (window.confirm(firstSentence(error.message) + " Other members will see it. Save it anyway?")) again();
  }

  view.list.addEventListener("click", function (event) {
    var target = event.target;
    var li = target.closest("li.chat-message[data-id]");
    if (!li) return;
    var id = parseInt(li.dataset.id, 10);
    if (target.classList.contains("chat-edit")) {
      startEdit(li, id);
    } else if (target.classList.contains("chat-delete")) {
      event.preventDefault();
      if (window.confirm("Delete this message? Its text will be erased for everyone.")) {
        protocol.ask("delete_message", { message_id: id });
      }
    }
  });

  view.list.addEventListener("submit", function (event) {
    var li = event.target.closest("li.chat-message[data-id]");
    if (!li) return;
    var id = parseInt(li.dataset.id, 10);
    if (event.target.classList.contains("chat-hide-form")) {
      event.preventDefault();
      var reason = event.target.querySelector('input[name="reason"]').value.trim();
      if (reason) protocol.hide(id, reason);
    } else if (event.target.classList.contains("chat-unhide-form")) {
      event.preventDefault();
      protocol.unhide(id);
    }
  });

  function startEdit(li, id) {
    if (li.querySelector(".chat-edit-form")) return;
    var bodyNode = li.querySelector(".chat-body");
    var editor = el("form", "chat-edit-form");
    var label = el("label", "visually-hidden", "Edit your message");
    var box = el("textarea");
    box.id = "edit-" + id;
    label.setAttribute("for", box.id);
    box.value = li.dataset.source || (bodyNode ? bodyNode.textContent.trim() : "");
    box.maxLength = page.maxChars;
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
      protocol.ask("edit_message", { message_id: id, body: box.value }, function () { editor.remove(); }, confirmPhi);
    });
  }

  updateCounter();
  return { sent: sent, failed: failed, askPhi: askPhi, showError: showError };
}
