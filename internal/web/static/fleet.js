// The live fleet page: server-sent events from /fleet/events replace the
// counts of each facility's row as devices go down and come back.
(function () {
  "use strict";
  var live = document.getElementById("fleet-live");
  if (!live || !window.EventSource) { return; }
  // num groups digits as the server's Locale.Number does, so that a count
  // keeps its form when it changes: the browser's own formats differ from
  // one build to another (some write Kazakh numbers the English way).
  var sep = document.documentElement.lang === "en" ? "," : "\u00a0";
  function num(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, sep); }
  function cell(row, key, n) {
    var td = row.querySelector('[data-k="' + key + '"]');
    if (!td) { return; }
    td.textContent = "";
    if ((key === "td" || key === "cd") && n > 0) {
      var b = document.createElement("span");
      b.className = "badge badge-warn";
      b.textContent = num(n);
      td.appendChild(b);
    } else {
      td.textContent = num(n);
    }
  }
  var es = new EventSource("/fleet/events");
  es.addEventListener("counts", function (ev) {
    var rows = JSON.parse(ev.data) || [];
    var tot = { tu: 0, td: 0, cu: 0, cd: 0 };
    rows.forEach(function (c) {
      tot.tu += c.TerminalsUp; tot.td += c.TerminalsDown; tot.cu += c.CamerasUp; tot.cd += c.CamerasDown;
      var row = document.getElementById("f-" + c.Facility);
      if (!row) { return; }
      cell(row, "tu", c.TerminalsUp); cell(row, "td", c.TerminalsDown);
      cell(row, "cu", c.CamerasUp); cell(row, "cd", c.CamerasDown);
    });
    Object.keys(tot).forEach(function (k) {
      var el = document.getElementById("total-" + k);
      if (el) { el.textContent = num(tot[k]); }
    });
    live.textContent = live.dataset.live + " " + new Date().toLocaleTimeString(document.documentElement.lang);
  });
  // The session ended (signed out, disabled, idle): reconnecting would
  // only get the login page.
  es.addEventListener("ended", function () { es.close(); live.textContent = live.dataset.lost; });
  es.onerror = function () { live.textContent = live.dataset.lost; };
})();
