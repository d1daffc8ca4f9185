// Boards (enquiries by status, agreements by stage): drag a card onto another column to move
// it. Every card has a form that moves it without JavaScript (a select and a Move button);
// dropping a card fills in that form and submits it, so the server applies the same rules.
// The reason for closing is shown only while "closed" is chosen.
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board) {
    return;
  }
  var announcer = document.getElementById("board-announcer");
  var dragged = null;

  function say(text) {
    if (announcer) {
      announcer.textContent = text;
    }
  }

  function parts(card) {
    var form = card.querySelector("[data-board-move]");
    return {
      form: form,
      status: form && form.querySelector("[data-board-status]"),
      reason: form && form.querySelector("[data-board-reason]")
    };
  }

  function allows(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) {
        return true;
      }
    }
    return false;
  }

  // The reason field, shown only for the status that needs it (and always when in error).
  function followReason(status, reason) {
    var needed = status.value === reason.getAttribute("data-board-reason");
    reason.hidden = !needed && !reason.classList.contains("has-error");
  }

  var forms = board.querySelectorAll("[data-board-move]");
  Array.prototype.forEach.call(forms, function (form) {
    var status = form.querySelector("[data-board-status]");
    var reason = form.querySelector("[data-board-reason]");
    if (status && reason) {
      followReason(status, reason);
      status.addEventListener("change", function () {
        followReason(status, reason);
      });
    }
  });

  var cards = board.querySelectorAll("[data-board-card]");
  Array.prototype.forEach.call(cards, function (card) {
    if (!card.querySelector("[data-board-move]")) {
      return;
    }
    card.setAttribute("draggable", "true");
    card.addEventListener("dragstart", function (event) {
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.id);
    });
    card.addEventListener("dragend", function () {
      card.classList.remove("dragging");
      dragged = null;
      clearTargets();
    });
  });

  function clearTargets() {
    var targets = board.querySelectorAll(".drop-target");
    Array.prototype.forEach.call(targets, function (target) {
      target.classList.remove("drop-target");
    });
  }

  function columnName(column) {
    var head = column.querySelector(".board-column-head");
    var count = head && head.querySelector(".board-count");
    var text = head ? head.textContent : "";
    return (count ? text.replace(count.textContent, "") : text).trim();
  }

  var columns = board.querySelectorAll("[data-status]");
  Array.prototype.forEach.call(columns, function (column) {
    column.addEventListener("dragover", function (event) {
      if (!dragged || dragged.closest("[data-status]") === column) {
        return;
      }
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      column.classList.add("drop-target");
    });
    column.addEventListener("dragleave", function (event) {
      if (!column.contains(event.relatedTarget)) {
        column.classList.remove("drop-target");
      }
    });
    column.addEventListener("drop", function (event) {
      event.preventDefault();
      clearTargets();
      var card = dragged || document.getElementById(event.dataTransfer.getData("text/plain"));
      if (!card || card.closest("[data-status]") === column) {
        return;
      }
      var target = column.getAttribute("data-status");
      var form = parts(card);
      if (!form.status || !allows(form.status, target)) {
        say(
          board
            .getAttribute("data-text-not-allowed")
            .replace("{card}", card.getAttribute("data-card-name"))
            .replace("{column}", columnName(column))
        );
        return;
      }
      form.status.value = target;
      if (form.reason && form.reason.getAttribute("data-board-reason") === target) {
        var select = form.reason.querySelector("select");
        if (!select.value) {
          followReason(form.status, form.reason);
          say(board.getAttribute("data-text-need-reason"));
          select.focus();
          return;
        }
      }
      form.form.submit();
    });
  });
})();
