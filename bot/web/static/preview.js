// Live preview of the impulse editor (progressive enhancement: without it, the
// "Vorschau aktualisieren" button does the same with a page load).
"use strict";
(function () {
  var form = document.getElementById("impulse-form");
  var target = document.getElementById("preview");
  if (!form || !target || !window.fetch) { return; }
  var timer = null;
  function update() {
    fetch(form.getAttribute("data-preview"), {
      method: "POST", body: new FormData(form), credentials: "same-origin"
    }).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("preview-content");
      if (fresh) { target.replaceChildren.apply(target, Array.from(fresh.childNodes)); }
    }).catch(function () { /* keep the last preview */ });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(update, 400);
  });
})();
