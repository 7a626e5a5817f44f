// The desk's statement upload: sends the chosen file as the request's body, as a bank's own upload
// does (so the server imports it the same way, never holding it in memory), shows how much has
// gone, says when the server is importing, and then opens the statement's page with its lines'
// outcomes — or says why the file was refused.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var progress = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var button = document.getElementById("upload");

  function say(text) { status.textContent = text; }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var file = form.elements.file.files[0];
    var bank = form.elements.bank.value.trim();
    if (!file || !bank) return;
    var lang = form.getAttribute("data-lang");
    var query = "?bank=" + encodeURIComponent(bank) + "&name=" + encodeURIComponent(file.name) + "&lang=" + lang;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/admin/reconciliation/statements" + query);
    xhr.setRequestHeader("X-CSRF-Token", form.elements.csrf.value);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.setRequestHeader("Accept", "application/json");
    progress.hidden = false;
    progress.max = file.size || 1;
    progress.value = 0;
    button.disabled = true;
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      progress.max = e.total;
      progress.value = e.loaded;
      var percent = Math.floor((e.loaded / e.total) * 100);
      say(form.getAttribute("data-uploading").replace("{percent}", String(percent)));
    };
    xhr.upload.onload = function () { say(form.getAttribute("data-importing")); };
    xhr.onload = function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (ignored) { answer = null; }
      if (xhr.status === 200 && answer && answer.statement_id) {
        window.location.href = "/admin/reconciliation/statements/" + answer.statement_id + "?lang=" + lang;
        return;
      }
      button.disabled = false;
      var why = answer && answer.error ? answer.error.message : "HTTP " + xhr.status;
      say(form.getAttribute("data-failed") + why);
    };
    xhr.onerror = function () {
      button.disabled = false;
      say(form.getAttribute("data-failed") + "network");
    };
    xhr.send(file);
  });
})();
