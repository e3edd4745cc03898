// Small progressive enhancements; every page works without this script.
(function () {
  "use strict";
  // Print: open every collapsed basis so the printed plan carries it, then restore.
  var opened = [];
  window.addEventListener("beforeprint", function () {
    opened = [];
    document.querySelectorAll("details:not([open])").forEach(function (d) {
      if (!d.closest(".no-print")) { d.open = true; opened.push(d); }
    });
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element && target.closest("[data-action=print]")) {
      window.print();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    // Move focus to the error summary after a failed submit so keyboard and screen-reader users hear it.
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
