// The live fleet page: server-sent events from /fleet/events replace the
// counts of each facility's row as devices go down and come back.
(function () {
  "use strict";
  var live = document.getElementById("fleet-live");
  if (!live || !window.EventSource) { return; }
  function cell(row, key, n) {
    var td = row.querySelector('[data-k="' + key + '"]');
    if (!td) { return; }
    td.textContent = "";
    if ((key === "td" || key === "cd") && n > 0) {
      var b = document.createElement("span");
      b.className = "badge badge-warn";
      b.textContent = String(n);
      td.appendChild(b);
    } else {
      td.textContent = String(n);
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
      if (el) { el.textContent = tot[k].toLocaleString(document.documentElement.lang); }
    });
    live.textContent = live.dataset.live + " " + new Date().toLocaleTimeString(document.documentElement.lang);
  });
  es.onerror = function () { live.textContent = live.dataset.lost; };
})();
