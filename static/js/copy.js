// A "Copy" button next to a read-only field: <button data-copy="field-id" hidden>. Without
// JavaScript the button stays hidden and the address can be selected and copied by hand.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  for (var i = 0; i < buttons.length; i++) {
    setUp(buttons[i]);
  }
  function setUp(button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector(".copy-status");
    if (!field) {
      return;
    }
    button.hidden = false;
    function say(key) {
      if (status) {
        status.textContent = status.getAttribute(key) || "";
      }
    }
    function fallback() {
      field.focus();
      field.select();
      try {
        say(document.execCommand("copy") ? "data-copied" : "data-failed");
      } catch (error) {
        say("data-failed");
      }
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(function () {
          say("data-copied");
        }, fallback);
      } else {
        fallback();
      }
    });
  }
})();
