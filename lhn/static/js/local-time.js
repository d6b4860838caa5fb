// Learning session times: the page says them in the organiser's time zone; this adds the reader's own.
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    timeZoneName: "short"
  });
  document.querySelectorAll("time.local-time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    var yours = document.createElement("span");
    yours.className = "muted local-time-yours";
    yours.textContent = " · your time: " + format.format(when);
    el.insertAdjacentElement("afterend", yours);
  });
})();
