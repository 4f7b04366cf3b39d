// Passkeys in the patient portal: adding one on the Passkeys page, signing in with one on the
// sign-in page. The server gives the options (JSON, binary fields in base64url) and checks the
// answer; this file only converts between base64url and bytes and calls navigator.credentials.
(function () {
  "use strict";

  function toBytes(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = window.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      }, function () {
        return { ok: false, status: response.status, data: {} };
      });
    });
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
  }

  function show(element, text) {
    element.textContent = text;
    element.hidden = !text;
  }

  // The browser's own errors, in the patient's words.
  function explain(error, creating) {
    var name = error && error.name;
    if (name === "NotAllowedError") {
      return creating
        ? "No passkey was made: the request was cancelled or timed out. Please try again."
        : "This device has no passkey for Trellis, or the request was cancelled. Sign in with your password and code, then add a passkey.";
    }
    if (name === "InvalidStateError") return "This device already has a passkey for your portal.";
    if (name === "SecurityError") return "Passkeys do not work at this address. Please use the link your clinic sent.";
    if (name === "NotSupportedError") return "This device cannot make a passkey that works here.";
    return "Something went wrong with the passkey. Please try again.";
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response: { clientDataJSON: toBase64url(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
    }
    return json;
  }

  function addPasskey(form) {
    var button = document.getElementById("passkey-add-button");
    var error = document.getElementById("passkey-add-error");
    var nameInput = document.getElementById("passkey-name");
    if (!supported()) {
      document.getElementById("passkey-unsupported").hidden = false;
      return;
    }
    button.disabled = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show(error, "");
      var name = nameInput.value.trim();
      if (!name) {
        show(error, "Name: give the passkey a name, for example “My phone”.");
        nameInput.focus();
        return;
      }
      button.disabled = true;
      post(form.dataset.optionsUrl).then(function (answer) {
        if (!answer.ok) throw { detail: answer.data.detail };
        var options = answer.data;
        options.challenge = toBytes(options.challenge);
        options.user.id = toBytes(options.user.id);
        (options.excludeCredentials || []).forEach(function (item) { item.id = toBytes(item.id); });
        return navigator.credentials.create({ publicKey: options }).then(null, function (failure) {
          throw { detail: explain(failure, true) };
        });
      }).then(function (credential) {
        return post(form.action, { name: name, credential: credentialJSON(credential) });
      }).then(function (answer) {
        if (!answer.ok) throw { detail: answer.data.detail };
        window.location.assign(answer.data.redirect || form.dataset.doneUrl);
      }).then(null, function (failure) {
        show(error, (failure && failure.detail) || "Something went wrong. Please try again.");
        button.disabled = false;
      });
    });
  }

  function signIn(box) {
    if (!supported()) return;
    var button = document.getElementById("passkey-sign-in-button");
    var error = document.getElementById("passkey-sign-in-error");
    box.hidden = false;
    button.addEventListener("click", function () {
      show(error, "");
      button.disabled = true;
      post(box.dataset.optionsUrl).then(function (answer) {
        if (!answer.ok) throw { detail: answer.data.detail };
        var options = answer.data;
        options.challenge = toBytes(options.challenge);
        (options.allowCredentials || []).forEach(function (item) { item.id = toBytes(item.id); });
        return navigator.credentials.get({ publicKey: options }).then(null, function (failure) {
          throw { detail: explain(failure, false) };
        });
      }).then(function (credential) {
        var next = new URLSearchParams(window.location.search).get("next") || "";
        return post(box.dataset.signInUrl, { credential: credentialJSON(credential), next: next });
      }).then(function (answer) {
        if (!answer.ok) throw { detail: answer.data.detail };
        window.location.assign(answer.data.redirect);
      }).then(null, function (failure) {
        show(error, (failure && failure.detail) || "Something went wrong. Please try again.");
        button.disabled = false;
      });
    });
  }

  function start() {
    var form = document.getElementById("passkey-add");
    if (form) addPasskey(form);
    var box = document.getElementById("passkey-sign-in");
    if (box) signIn(box);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
