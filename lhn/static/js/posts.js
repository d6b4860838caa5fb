// Writing posts and answers: live preview and the similar-questions hint. Pages work without this file:
// the Preview button then reloads the form with the preview, and similar questions are simply not shown.
(function () {
  "use strict";

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function debounce(fn, ms) {
    var timer;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // Preview of a post form: post the form (with "preview") to its own URL and take the server's preview,
  // rendered and sanitised exactly like a saved post.
  document.querySelectorAll("form.post-form").forEach(function (form) {
    var button = form.querySelector("[data-preview-button]");
    var box = form.querySelector(".preview-box");
    if (!button || !box) return;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      data.set("preview", "Preview");
      fetch(form.action || window.location.href, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var body = doc.querySelector(".preview-box .preview-body");
          box.querySelector(".preview-body").innerHTML = body ? body.innerHTML : "";
          box.hidden = !body || !body.textContent.trim();
          if (!box.hidden) box.scrollIntoView({ block: "nearest" });
        });
    });
  });

  // Preview of an answer: a button appears next to the text box and fills the preview from /preview.
  document.querySelectorAll("form.answer-form").forEach(function (form) {
    var textarea = form.querySelector("textarea[name=body]");
    var box = form.querySelector(".preview-box");
    if (!textarea || !box) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-secondary";
    button.textContent = "Preview";
    form.querySelector("[type=submit]").insertAdjacentElement("beforebegin", button);
    button.addEventListener("click", function () {
      var data = new FormData();
      data.set("text", textarea.value);
      fetch("/preview", { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
        .then(function (response) { return response.ok || response.status === 422 ? response.text() : ""; })
        .then(function (html) {  // 422: the reason it can't be shown, from the server
          box.querySelector(".preview-body").innerHTML = html;
          box.hidden = !html;
        });
    });
  });

  // Similar questions while typing a question's title.
  document.querySelectorAll("form[data-similar-url]").forEach(function (form) {
    var title = form.querySelector("input[name=title]");
    var box = document.getElementById("similar-questions");
    if (!title || !box) return;
    var url = form.getAttribute("data-similar-url");
    var last = "";
    title.addEventListener("input", debounce(function () {
      var value = title.value.trim();
      if (value === last) return;
      last = value;
      if (value.length < 4) { box.hidden = true; box.innerHTML = ""; return; }
      fetch(url + "?title=" + encodeURIComponent(value), { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : ""; })
        .then(function (html) {
          if (title.value.trim() !== value) return; // a newer request is on its way
          box.innerHTML = html;
          box.hidden = !html.trim();
        });
    }, 300));
  });
})();
