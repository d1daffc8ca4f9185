// Type-ahead for picker fields: fills the <datalist> of every input[data-typeahead] with
// matches from the server as the person types. The form works without it.
(function () {
  "use strict";
  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-typeahead");
    var timer = null;
    var lastQuery = "";
    if (!list || !url) { return; }
    input.addEventListener("input", function () {
      var query = input.value.trim();
      if (query === lastQuery || /\(#\d+\)$/.test(query)) { return; }
      lastQuery = query;
      window.clearTimeout(timer);
      if (query.length < 2) { list.innerHTML = ""; return; }
      timer = window.setTimeout(function () {
        var separator = url.indexOf("?") === -1 ? "?" : "&";
        fetch(url + separator + "q=" + encodeURIComponent(query), {
          headers: { "Accept": "application/json" },
          credentials: "same-origin"
        })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) {
            list.innerHTML = "";
            (data.results || []).forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.name + " (#" + item.id + ")";
              if (item.label) { option.label = item.label; }
              list.appendChild(option);
            });
          })
          .catch(function () { list.innerHTML = ""; });
      }, 200);
    });
  }
  document.querySelectorAll("input[data-typeahead]").forEach(attach);
})();
