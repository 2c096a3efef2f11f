// A running import's page follows its progress without reloading, then shows the result.
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-state") !== "running") { return; }
  function tick() {
    fetch("/console/imports/" + box.getAttribute("data-id") + "/status", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        document.getElementById("bar").value = j.percent;
        ["rows", "imported", "duplicates", "failed"].forEach(function (k) {
          document.getElementById(k).textContent = j[k === "rows" ? "rowsRead" : k];
        });
        if (j.state === "running") { setTimeout(tick, 1000); } else { location.reload(); }
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  tick();
})();
