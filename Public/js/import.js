// Upload progress for big files; the server then shows the import's own progress.
(function () {
  "use strict";
  var form = document.getElementById("import-form"), bar = document.getElementById("upload-progress");
  if (!form || !bar || !window.XMLHttpRequest || !window.FormData) { return; }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    bar.hidden = false;
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) { bar.value = e.loaded * 100 / e.total; } };
    xhr.onload = function () {
      document.open();
      document.write(xhr.responseText);
      document.close();
      if (xhr.responseURL) { history.replaceState(null, "", xhr.responseURL); }
    };
    xhr.send(new FormData(form));
  });
})();
