// The reply form on an enquiry: the template list shows the chosen language's templates.
// Without JavaScript every template is listed, grouped by language.
(function () {
  "use strict";
  var language = document.getElementById("reply_language");
  var choice = document.getElementById("reply_template_choice");
  if (!language || !choice) {
    return;
  }
  function follow() {
    var groups = choice.querySelectorAll("optgroup[data-language]");
    for (var i = 0; i < groups.length; i++) {
      var shown = groups[i].getAttribute("data-language") === language.value;
      groups[i].hidden = !shown;
      groups[i].disabled = !shown;
    }
    var selected = choice.options[choice.selectedIndex];
    if (selected && selected.parentNode.disabled) {
      choice.value = "";
    }
  }
  language.addEventListener("change", follow);
  follow();
})();
