// Trellis page behaviour: idle sign-out with a warning, and auto-submitting selects.
(function () {
  "use strict";

  function idleLogoff() {
    var body = document.body;
    var seconds = parseInt(body.dataset.idleSeconds || "0", 10);
    var keepaliveUrl = body.dataset.keepaliveUrl;
    if (!seconds || !keepaliveUrl) return;
    var warning = document.getElementById("idle-warning");
    var csrf = JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    var lastActivity = Date.now();
    var lastPing = Date.now();

    function activity() {
      lastActivity = Date.now();
      if (warning) warning.hidden = true;
      // Typing a long note makes no request: tell the server the person is still here.
      if (Date.now() - lastPing > 60000) {
        lastPing = Date.now();
        fetch(keepaliveUrl, { method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
      }
    }
    ["keydown", "pointerdown", "pointermove", "scroll", "touchstart"].forEach(function (name) {
      window.addEventListener(name, activity, { passive: true });
    });
    window.setInterval(function () {
      var idle = (Date.now() - lastActivity) / 1000;
      if (idle >= seconds + 5) {
        // The server signs the session out and shows the sign-in page.
        window.location.reload();
      } else if (warning && idle >= seconds - 60) {
        warning.hidden = false;
      }
    }, 5000);
  }

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    idleLogoff();
    autosubmit();
  });
})();
