// Live answers on a question page. When the shared live client (live.js, LHN.watch) is on the page, a new
// answer, a vetting or a vote on this question re-fetches the server-rendered answers block and swaps it
// in. Without it, the page works as is and a reload shows changes.
(function () {
  "use strict";

  var container = document.querySelector("[data-live-room][data-fragment-url]");
  if (!container || !(window.LHN && typeof window.LHN.watch === "function")) return;
  var room = container.getAttribute("data-live-room");
  var url = container.getAttribute("data-fragment-url");
  var status = document.getElementById("answers-status");
  var pending = null; // a refresh that waits while the reader is typing in the answers block
  var inflight = false;
  var again = false;

  function busy() {
    // Don't pull the answers from under someone writing a comment or using a control inside them.
    var active = document.activeElement;
    if (active && container.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName)) return true;
    return Array.prototype.some.call(container.querySelectorAll("textarea"), function (t) { return t.value.trim(); });
  }

  function announce(message) {
    if (!status) return;
    status.textContent = "";
    setTimeout(function () { status.textContent = message; }, 50);
  }

  function swap(html, message) {
    var focusedId = document.activeElement && container.contains(document.activeElement) ? document.activeElement.id : "";
    var openDetails = Array.prototype.map.call(container.querySelectorAll("details[open]"), function (d) {
      var article = d.closest("article");
      return article ? article.id : "";
    });
    container.innerHTML = html;
    openDetails.forEach(function (id) {
      var article = id && document.getElementById(id);
      var details = article && article.querySelector("details.comment-form-box");
      if (details) details.open = true;
    });
    if (focusedId && document.getElementById(focusedId)) document.getElementById(focusedId).focus();
    announce(message);
  }

  function refresh(message) {
    if (busy()) {
      showPending(message);
      return;
    }
    if (inflight) { again = true; return; }
    inflight = true;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html !== null) swap(html, message);
      })
      .catch(function () { /* the next event or a reload will catch up */ })
      .then(function () {
        inflight = false;
        if (again) { again = false; refresh(message); }
      });
  }

  function showPending(message) {
    if (!pending) {
      pending = document.createElement("button");
      pending.type = "button";
      pending.className = "button button-secondary button-small live-pending";
      pending.addEventListener("click", function () {
        pending.remove();
        pending = null;
        refresh("Answers updated.");
      });
      container.insertAdjacentElement("beforebegin", pending);
    }
    pending.textContent = message + " Show the latest answers";
    announce(message + " Use the button above the answers to show them.");
  }

  window.LHN.watch(room, {
    answer_posted: function () { refresh("A new answer was posted."); },
    answer_vetted: function (event) {
      refresh(event && event.vetted === false ? "An answer's vetting changed." : "An answer was vetted.");
    },
    vote_changed: function () { refresh("Votes changed."); }
  });
})();
