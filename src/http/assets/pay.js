// Counts down to the QR window's end, then shows the page again so the server states the truth.
(function () {
  var el = document.getElementById("countdown");
  if (!el) return;
  var expires = Number(el.getAttribute("data-expires")) * 1000;
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var left = Math.floor((expires - Date.now()) / 1000);
    if (left <= 0) {
      el.textContent = el.getAttribute("data-expired-text");
      setTimeout(function () { window.location.reload(); }, 1000);
      return;
    }
    el.textContent = pad(Math.floor(left / 3600)) + ":" + pad(Math.floor(left / 60) % 60) + ":" + pad(left % 60);
    setTimeout(tick, 1000 - (Date.now() % 1000));
  }
  tick();
})();
