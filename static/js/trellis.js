// Trellis page behaviour: idle sign-out with a warning (kept off while a treatment session is
// in progress on the page), the note saved as a draft while it is typed, auto-submitting selects,
// copy buttons, an appointment's refused change shown in place.
(function () {
  "use strict";

  function csrfToken() {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  }

  function idleLogoff() {
    var body = document.body;
    var seconds = parseInt(body.dataset.idleSeconds || "0", 10);
    var keepaliveUrl = body.dataset.keepaliveUrl;
    if (!seconds || !keepaliveUrl) return;
    var warning = document.getElementById("idle-warning");
    var csrf = csrfToken();
    var lastActivity = Date.now();
    var lastPing = Date.now();

    // A session in progress (esketamine's two hours of monitoring) keeps the sign-in alive while
    // its page is open. The server decides: once it refuses, idle sign-out works as anywhere.
    var open = document.querySelector("[data-session-keepalive]");
    if (open) {
      var every = Math.min(60, Math.floor(seconds / 3)) * 1000;
      var timer = window.setInterval(function () {
        fetch(open.dataset.sessionKeepalive, {
          method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin", redirect: "manual"
        }).then(function (response) {
          if (response.status === 204) {
            lastActivity = Date.now();
            if (warning) warning.hidden = true;
          } else {
            window.clearInterval(timer);
          }
        }, function () { /* offline for a moment: the next ping tries again */ });
      }, every);
    }

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

  // The note saves itself as a draft (htmx, see the session page): 2 seconds after typing pauses,
  // on leaving the field, and every 10 seconds while typing goes on without a pause.
  function noteDrafts() {
    document.querySelectorAll("[data-draft]").forEach(function (field) {
      var dirty = false;
      var saving = false;
      field.addEventListener("input", function () { dirty = true; });
      field.addEventListener("htmx:beforeRequest", function (event) {
        // Once "Save note" is pressed the note itself is being saved: no draft after it.
        if (saving) event.preventDefault();
        dirty = false;
      });
      if (field.form) field.form.addEventListener("submit", function () { saving = true; });
      field.addEventListener("htmx:sendError", function () {
        dirty = true;
        var status = document.getElementById(field.getAttribute("aria-describedby"));
        if (status) status.textContent = "Draft not saved: no connection. Trying again…";
      });
      // A refusal (signed meanwhile, too long) is shown in words in place of the status.
      field.addEventListener("htmx:beforeSwap", function (event) {
        if (event.detail.xhr.status === 409 || event.detail.xhr.status === 422) {
          event.detail.shouldSwap = true;
          event.detail.isError = false;
        }
      });
      window.setInterval(function () {
        if (dirty && window.htmx) window.htmx.trigger(field, "draft-due");
      }, 10000);
    });
  }

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  // A "Copy" button next to a read-only address: copies it and says so.
  // A change of an appointment's status the clinic refuses (a cancellation without its reason)
  // comes back as 422 with the block and the reason asked for: shown in place, not dropped.
  function appointmentRefusals() {
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      var target = event.detail.target;
      if (event.detail.xhr.status === 422 && target && target.classList.contains("appt")) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
  }

  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var field = document.getElementById(button.dataset.copy);
      button.hidden = !navigator.clipboard || !field;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          button.textContent = "Copied";
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    idleLogoff();
    noteDrafts();
    autosubmit();
    copyButtons();
    appointmentRefusals();
  });
})();
