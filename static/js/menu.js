// The navigation (templates/base.html) is a <details> menu: folded on a phone, and shown open
// beside the page on a wider screen by the style sheet's ::details-content rule. A browser
// that cannot style a closed <details> that way gets the menu opened on wide screens here.
(function () {
  "use strict";
  var menu = document.querySelector(".site-menu");
  if (!menu || !window.matchMedia) return;
  if (window.CSS && CSS.supports && CSS.supports("selector(::details-content)")) return;
  var wide = window.matchMedia("(min-width: 60rem)");
  function follow() { menu.open = wide.matches; }
  follow();
  wide.addEventListener("change", follow);
})();
