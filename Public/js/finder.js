// The site finder: the phone's location, and a map where Leaflet can be loaded. Without this
// script the page still works: pick a district or a place, and the list is the server's.
(function () {
  "use strict";
  var form = document.getElementById("finder-form");
  var button = document.getElementById("locate");
  var status = document.getElementById("locate-status");
  var mapEl = document.getElementById("map");

  function locate(auto) {
    if (!navigator.geolocation) { return; }
    if (status) { status.textContent = document.documentElement.lang.indexOf("zh") === 0 ? "正在获取您的位置…" : "Finding where you are…"; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      // Browsers give WGS-84; the server is told so.
      var params = new URLSearchParams(new FormData(form));
      params.delete("district"); params.delete("place");
      params.set("lat", pos.coords.latitude.toFixed(6));
      params.set("lng", pos.coords.longitude.toFixed(6));
      params.set("coord", "wgs84");
      window.location.href = "/sites?" + params.toString();
    }, function () {
      try { sessionStorage.setItem("gh-locate-refused", "1"); } catch (e) {}
      if (status) { status.textContent = document.documentElement.lang.indexOf("zh") === 0 ? "未能获取位置，请在下面选择区域或输入地点。" : "Location is unavailable: pick a district or type a place below."; }
    }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
  }

  if (form && button && navigator.geolocation) {
    button.hidden = false;
    button.addEventListener("click", function () { locate(false); });
    var params = new URLSearchParams(window.location.search);
    var refused = false;
    try { refused = sessionStorage.getItem("gh-locate-refused") === "1"; } catch (e) {}
    if (!params.has("lat") && !params.has("district") && !params.has("place") && !refused) { locate(true); }
  }

  if (!mapEl) { return; }
  var base = mapEl.getAttribute("data-leaflet");
  if (!base) { return; }
  var script = document.createElement("script");
  script.src = base + "/leaflet.js";
  script.onload = function () {
    if (!window.L) { return; }
    mapEl.hidden = false;
    var lat = parseFloat(mapEl.getAttribute("data-lat")), lng = parseFloat(mapEl.getAttribute("data-lng"));
    var map = L.map(mapEl, { zoomControl: true }).setView([lat, lng], 15);
    var tiles = mapEl.getAttribute("data-tiles");
    L.tileLayer(tiles, { subdomains: "1234", maxZoom: 18, attribution: mapEl.getAttribute("data-attribution") }).addTo(map);
    // Every point on the page is already in the tiles' coordinate system (the server converted it).
    // Popups get DOM nodes whose text is set, never a string: Leaflet reads a string as HTML,
    // and a site's name is whatever its editor typed.
    if (mapEl.getAttribute("data-single") === "true") {
      var label = document.createElement("span");
      label.textContent = mapEl.getAttribute("data-name") || "";
      L.marker([lat, lng]).addTo(map).bindPopup(label);
      return;
    }
    var bounds = [];
    if (mapEl.getAttribute("data-you") === "true") {
      L.circleMarker([lat, lng], { radius: 8, color: "#2563eb", fillOpacity: 0.8 }).addTo(map);
      bounds.push([lat, lng]);
    }
    document.querySelectorAll("li.site").forEach(function (li, i) {
      var p = [parseFloat(li.getAttribute("data-lat")), parseFloat(li.getAttribute("data-lng"))];
      var a = document.createElement("a");
      a.href = li.getAttribute("data-href");
      a.textContent = (i + 1) + ". " + li.getAttribute("data-name");
      L.marker(p).addTo(map).bindPopup(a);
      bounds.push(p);
    });
    if (bounds.length > 1) { map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 }); }
  };
  document.head.appendChild(script);
})();
