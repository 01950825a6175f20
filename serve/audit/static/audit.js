// dispo QA audit: keyboard shortcuts on the contact page; Enter starts auditing on the queue page.
(function () {
  "use strict";
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  function click(id) {
    var element = document.getElementById(id);
    if (element && !element.disabled) { element.click(); return true; }
    return false;
  }
  function focus(id) {
    var element = document.getElementById(id);
    if (element) { element.focus(); return true; }
    return false;
  }
  var form = document.getElementById("decision");
  if (form) {
    form.addEventListener("submit", function () {
      // One decision per page: a double press must not record two.
      window.setTimeout(function () {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      }, 0);
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }
    if (typing(event.target)) { return; }
    var handled = false;
    switch (event.key) {
      case "c": case "C": handled = click("do-confirm"); break;
      case "m": case "M": handled = click("do-model"); break;
      case "o": case "O": handled = focus("reason"); break;
      case "n": case "N": handled = focus("note"); break;
      case "s": case "S": handled = click("skip"); break;
      case "q": case "Q": handled = click("queue-link"); break;
      case "Enter": handled = event.target === document.body && click("start"); break;
      case "?": {
        var help = document.getElementById("shortcuts");
        if (help) { help.hidden = !help.hidden; handled = true; }
        break;
      }
    }
    if (handled) { event.preventDefault(); }
  });
})();
