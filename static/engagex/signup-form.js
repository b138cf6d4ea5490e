// Sign-up pages: let the ALTCHA widget (loaded just before, as a module) find its
// proof-of-work worker among our own static files (no blob: workers, no third party).
(function () {
  "use strict";
  var widget = document.querySelector("altcha-widget[data-worker]");
  if (!widget || !window.$altcha) {
    return;
  }
  var url = widget.getAttribute("data-worker");
  ["PBKDF2/SHA-256", "PBKDF2/SHA-384", "PBKDF2/SHA-512"].forEach(function (name) {
    window.$altcha.algorithms.set(name, function () {
      return new Worker(url);
    });
  });
})();
