// The pay pages' behaviour, for the phones' browsers as they are (no modules, no arrow functions):
// - the countdown to the QR window's end, after which the page is shown again by the server;
// - a page waiting for payment (or a channel's code on a second screen) asks the server every few
//   seconds and, once the fine is paid or the window closed, shows the server's new page in place;
// - the step pages: on to the channel (a link or a form), WeChat's bridge, copying the page's link;
// - the bank page: copying the decision number; the receipt: its print button;
// - the lookup form, off while rate-limited, on again when the limit lifts.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // Counts down from the seconds the server said were left, by this phone's clock only as a
  // stopwatch (its time of day may be wrong); at the end, the server's page in place.
  function countdown() {
    var el = document.getElementById("countdown");
    if (!el) return;
    var expires = Date.now() + Number(el.getAttribute("data-seconds-left")) * 1000;
    function tick() {
      var left = Math.round((expires - Date.now()) / 1000);
      if (left <= 0) {
        el.textContent = el.getAttribute("data-expired-text");
        var page = document.getElementById("page");
        setTimeout(function () { showPage(page.getAttribute("data-page") + "?lang=" + page.getAttribute("data-lang")); }, 1000);
        return;
      }
      el.textContent = pad(Math.floor(left / 3600)) + ":" + pad(Math.floor(left / 60) % 60) + ":" + pad(left % 60);
      setTimeout(tick, 1000 - (Date.now() % 1000));
    }
    tick();
  }

  // Puts the server's page for `url` in place of this one's main content, without a reload.
  function showPage(url) {
    var request = new XMLHttpRequest();
    request.open("GET", url);
    request.onload = function () {
      if (request.status !== 200) { window.location.assign(url); return; }
      var fresh = new DOMParser().parseFromString(request.responseText, "text/html");
      var main = document.querySelector("main");
      var next = fresh.querySelector("main");
      if (!main || !next) { window.location.assign(url); return; }
      main.parentNode.replaceChild(document.importNode(next, true), main);
      document.title = fresh.title;
      window.scrollTo(0, 0);
      // A screen reader hears the new page's heading, and reading goes on from there.
      var heading = document.querySelector("main h1");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
      copyDecision();
    };
    request.onerror = function () { window.location.assign(url); };
    request.send();
  }

  // Asks the server (which asks the channel) until the fine is no longer awaiting payment by QR:
  // every 3 seconds for two minutes, when a payment is most likely, then every 10.
  function watch(url) {
    var started = Date.now();
    function next() { return Date.now() - started < 120000 ? 3000 : 10000; }
    function poll() {
      var request = new XMLHttpRequest();
      request.open("GET", url);
      request.setRequestHeader("Accept", "application/json");
      request.onload = function () {
        var page = null;
        try { page = JSON.parse(request.responseText); } catch (e) { page = null; }
        if (page && (page.status !== "awaiting_payment" || !page.qr_active)) { showPage(url); return; }
        setTimeout(poll, next());
      };
      request.onerror = function () { setTimeout(poll, 10000); };
      request.send();
    }
    setTimeout(poll, 3000);
  }

  function payPage() {
    var page = document.getElementById("page");
    if (!page || page.getAttribute("data-state") !== "pending") return;
    // Back from a channel: the poll below shows the receipt as soon as the payment is confirmed;
    // after a minute without, the page says so and offers the buttons again.
    var confirming = document.getElementById("confirming");
    var later = confirming && confirming.getAttribute("data-later");
    if (later) {
      setTimeout(function () {
        var channels = document.getElementById("channels");
        if (!channels || !document.body.contains(confirming)) return;
        document.getElementById("notice-text").textContent = later;
        channels.hidden = false;
      }, 60000);
    }
    watch(page.getAttribute("data-page") + "?lang=" + page.getAttribute("data-lang"));
  }

  function stepPage() {
    var step = document.getElementById("step");
    if (!step) return;
    var kind = step.getAttribute("data-step");
    if (kind === "qr") watch(step.getAttribute("data-page"));
    if (kind === "redirect") {
      // A navigation from this page, so that the channel sees this site as the referrer.
      window.location.href = document.getElementById("continue").getAttribute("data-go");
    }
    if (kind === "form") document.getElementById("channel-form").submit();
    if (kind === "jsapi") jsapi();
    if (kind === "elsewhere") copyLink();
  }

  // WeChat's bridge: pay with the server-signed parameters; whatever it says, the server decides.
  function jsapi() {
    var button = document.getElementById("jsapi-pay");
    var params = JSON.parse(button.getAttribute("data-params"));
    var notDone = document.getElementById("jsapi-not-done");
    function invoke() {
      window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {
        if (res && res.err_msg === "get_brand_wcpay_request:ok") {
          window.location.assign(button.getAttribute("data-done"));
        } else {
          notDone.hidden = false;
        }
      });
    }
    function whenReady() {
      if (window.WeixinJSBridge) { invoke(); return; }
      document.addEventListener("WeixinJSBridgeReady", invoke, false);
      setTimeout(function () {
        if (!window.WeixinJSBridge) document.getElementById("jsapi-outside").hidden = false;
      }, 3000);
    }
    button.addEventListener("click", function () {
      notDone.hidden = true;
      if (window.WeixinJSBridge) invoke();
    });
    whenReady();
  }

  // Copies `text`, then says so on the button; the older way where the Clipboard API is missing
  // or refused (a page opened over plain HTTP, some in-app browsers).
  function copy(button, text, select) {
    var done = function () { button.textContent = button.getAttribute("data-copied"); };
    var fallback = function () { select(); if (document.execCommand("copy")) done(); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  function copyLink() {
    var button = document.getElementById("copy-link");
    var field = document.getElementById("page-link");
    button.addEventListener("click", function () {
      field.select();
      copy(button, field.value, function () { field.select(); });
    });
  }

  // The bank page's decision number: a button to copy it, shown only where script runs (the
  // number itself selects whole with one tap either way).
  function copyDecision() {
    var button = document.getElementById("copy-decision");
    var number = document.getElementById("decision-no-big");
    if (!button || !number) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(button, button.getAttribute("data-copy"), function () {
        var range = document.createRange();
        range.selectNodeContents(number);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      });
    });
  }

  // The receipt's print button, shown only where script runs (the browser's own print works too).
  function printButton() {
    var button = document.getElementById("print");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }

  // The lookup form, off while the address is rate-limited: on again when the limit lifts.
  function lookupLimit() {
    var fieldset = document.getElementById("limited");
    if (!fieldset) return;
    var seconds = Number(fieldset.getAttribute("data-retry-after"));
    setTimeout(function () { fieldset.disabled = false; }, seconds * 1000);
  }

  countdown();
  payPage();
  lookupLimit();
  copyDecision();
  printButton();
  stepPage();
})();
