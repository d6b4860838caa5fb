// Small progressive enhancements shared by every page. Pages work without this file.
(function () {
  "use strict";

  // Warn while typing when a display name looks like a full real name (the server asks again).
  var realName = /^(\p{Lu}[\p{Ll}'.-]+)(\s+\p{Lu}[\p{Ll}'.-]+){1,3}$/u;
  document.querySelectorAll("[data-real-name-check]").forEach(function (input) {
    var hint = document.getElementById("real-name-hint");
    // When the server has already asked about the name, its message is enough.
    if (!hint || document.getElementById(input.id + "-error")) return;
    var check = function () { hint.hidden = !realName.test(input.value.trim()); };
    input.addEventListener("input", check);
    check();
  });
})();
