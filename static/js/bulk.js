// Bulk actions on a list: a "select all on this page" box above the rows' own boxes.
// Without JavaScript each row is ticked by hand, or "all that match the filter" is chosen.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form.bulk-form");
  for (var i = 0; i < forms.length; i++) {
    setUp(forms[i]);
  }
  function setUp(form) {
    var boxes = form.querySelectorAll("input.bulk-select");
    var bar = form.querySelector(".bulk-bar");
    if (!boxes.length || !bar) {
      return;
    }
    var wrapper = document.createElement("div");
    wrapper.className = "field checkbox bulk-select-all";
    var all = document.createElement("input");
    all.type = "checkbox";
    all.id = form.id + "-all";
    var label = document.createElement("label");
    label.htmlFor = all.id;
    label.textContent = bar.getAttribute("data-select-all") || "Select all";
    wrapper.appendChild(all);
    wrapper.appendChild(label);
    bar.insertBefore(wrapper, bar.querySelector(".field"));
    all.addEventListener("change", function () {
      for (var j = 0; j < boxes.length; j++) {
        boxes[j].checked = all.checked;
      }
    });
    form.addEventListener("change", function (event) {
      if (!event.target.classList.contains("bulk-select")) {
        return;
      }
      var ticked = form.querySelectorAll("input.bulk-select:checked").length;
      all.checked = ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    });
  }
})();
