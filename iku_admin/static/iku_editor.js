// The IKU editor on the dossier page (templates/dossier/_iku_editor.html): add, remove and move
// rows, and fill the grid from cells pasted out of Excel or Word. The page posts the rows in the
// order they stand (iku_admin/iku_content.py): moving a row is all it takes to reorder it, and
// an indicator belongs to the objective above it. Nothing is saved until "Save".
(function () {
  "use strict";
  var form = document.getElementById("iku-editor");
  if (!form) {
    return;
  }
  var table = form.querySelector("table.iku-grid");
  var counter = 0;
  form.querySelectorAll("input[name=row]").forEach(function (input) {
    var match = /^[oi]new(\d+)$/.exec(input.value);
    if (match) {
      counter = Math.max(counter, parseInt(match[1], 10));
    }
  });

  // --- rows ---------------------------------------------------------------------------------

  function blocks() {
    return Array.prototype.slice.call(table.tBodies);
  }

  function live(element) {
    return !element.classList.contains("iku-removed");
  }

  function indicators(block) {
    return Array.prototype.slice.call(block.querySelectorAll("tr.iku-indicator"));
  }

  // A copy of a <template>'s rows with keys of their own (one objective, one indicator at
  // most: every "o__NEW__" is the same objective, every "i__NEW__" the same indicator).
  function fresh(templateId, wrapper) {
    var keys = { o: "onew" + ++counter, i: "inew" + ++counter };
    var html = document.getElementById(templateId).innerHTML.replace(/([oi])__NEW__/g,
      function (match, kind) {
        return keys[kind];
      });
    var holder = document.createElement(wrapper);
    holder.innerHTML = html;
    return holder.firstElementChild;
  }

  function addIndicator(block, focus) {
    var row = fresh("iku-new-indicator", "tbody");
    block.appendChild(row);
    renumber();
    if (focus) {
      row.querySelector("[data-col=name]").focus();
    }
    return row;
  }

  function addObjective(after, focus) {
    var block = fresh("iku-new-objective", "table");
    table.insertBefore(block, after ? after.nextSibling : null);
    renumber();
    if (focus) {
      block.querySelector("[data-col=objective]").focus();
    }
    return block;
  }

  function renumber() {
    var n = 0;
    blocks().forEach(function (block) {
      var counted = live(block);
      n += counted ? 1 : 0;
      block.querySelector("tr.iku-objective .iku-no").textContent = counted ? n : "–";
      var m = 0;
      indicators(block).forEach(function (row) {
        m += counted && live(row) ? 1 : 0;
        row.querySelector(".iku-no").textContent = counted && live(row) ? n + "." + m : "–";
      });
    });
    var removedSaved = form.querySelector(".iku-removed[data-key^=o]:not([data-key*=new]), " +
      ".iku-removed[data-key^=i]:not([data-key*=new])");
    if (removedSaved) {
      form.setAttribute("data-confirm", form.getAttribute("data-confirm-removal"));
    } else {
      form.removeAttribute("data-confirm");
    }
  }

  // A removed row stays in view, struck through and left out of the post (its fields are
  // disabled), until it is kept again; a row added here and removed simply goes.
  function toggleRemoved(rows, removed) {
    rows.forEach(function (row) {
      row.classList.toggle("iku-removed", removed);
      row.querySelectorAll("input, select, textarea").forEach(function (field) {
        field.disabled = removed;
      });
      var button = row.querySelector("[data-iku=remove]");
      if (!button.hasAttribute("data-remove-label")) {
        button.setAttribute("data-remove-label", button.getAttribute("aria-label"));
      }
      var label = button.getAttribute(removed ? "data-restore-label" : "data-remove-label");
      button.setAttribute("aria-label", label);
      button.title = label;
      button.textContent = removed ? "\u21ba" : "\u00d7";
    });
  }

  function remove(row) {
    var block = row.closest("tbody");
    var isObjective = row.classList.contains("iku-objective");
    var added = /new/.test(row.getAttribute("data-key"));
    if (isObjective) {
      var restoring = !live(block);
      if (added && !restoring && !block.querySelector("tr.iku-indicator:not([data-key*=new])")) {
        block.remove();
      } else {
        block.classList.toggle("iku-removed", !restoring);
        toggleRemoved([row].concat(indicators(block)), !restoring);
      }
    } else if (!live(block)) {
      return; // its objective is removed: keep the objective first
    } else if (added) {
      row.remove();
    } else {
      toggleRemoved([row], live(row));
    }
    renumber();
  }

  // The nearest row (or objective's block) before or after, skipping removed ones; null at
  // either end (the table's head is no block).
  function neighbour(element, step) {
    var next = element;
    do {
      next = step < 0 ? next.previousElementSibling : next.nextElementSibling;
    } while (next && (!live(next) || next.tagName !== element.tagName));
    return next;
  }

  // Up and down: an objective moves with its indicators; an indicator moves within its
  // objective, and from its first or last place into the objective before or after.
  function move(row, step) {
    var block = row.closest("tbody");
    if (row.classList.contains("iku-objective")) {
      var other = neighbour(block, step);
      if (other) {
        table.insertBefore(block, step < 0 ? other : other.nextSibling);
      }
    } else {
      var sibling = neighbour(row, step);
      if (sibling && sibling.classList.contains("iku-indicator")) {
        block.insertBefore(row, step < 0 ? sibling : sibling.nextSibling);
      } else {
        var target = neighbour(block, step);
        if (!target) {
          return;
        }
        if (step < 0) {
          target.appendChild(row);
        } else {
          target.insertBefore(row, target.querySelector("tr.iku-objective").nextSibling);
        }
      }
    }
    renumber();
    var button = row.querySelector("[data-iku=" + (step < 0 ? "up" : "down") + "]");
    if (button) {
      button.focus();
    }
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-iku]");
    if (!button) {
      return;
    }
    var action = button.getAttribute("data-iku");
    var row = button.closest("tr");
    if (action === "add-objective") {
      addObjective(null, true);
    } else if (action === "add-indicator") {
      addIndicator(row.closest("tbody"), true);
    } else if (action === "remove") {
      remove(row);
    } else if (action === "up" || action === "down") {
      move(row, action === "up" ? -1 : 1);
    }
  });

  // --- paste ----------------------------------------------------------------------------------

  // Tab-separated text as Excel and Word put it on the clipboard: rows end with a line break
  // (the last one may not), and a cell holding a tab, a line break or a quote is quoted.
  function parseCells(text) {
    var rows = [];
    var row = [];
    var cell = "";
    var i = 0;
    text = text.replace(/\r\n?/g, "\n");
    while (i < text.length) {
      var c = text[i];
      if (c === '"' && cell === "") {
        var end = i + 1;
        var quoted = "";
        while (end < text.length) {
          if (text[end] === '"' && text[end + 1] === '"') {
            quoted += '"';
            end += 2;
          } else if (text[end] === '"') {
            break;
          } else {
            quoted += text[end];
            end += 1;
          }
        }
        if (end < text.length && (end + 1 === text.length || /[\t\n]/.test(text[end + 1]))) {
          cell = quoted;
          i = end + 1;
          continue;
        }
      }
      if (c === "\t") {
        row.push(cell);
        cell = "";
      } else if (c === "\n") {
        row.push(cell);
        rows.push(row);
        row = [];
        cell = "";
      } else {
        cell += c;
      }
      i += 1;
    }
    if (cell !== "" || row.length) {
      row.push(cell);
      rows.push(row);
    }
    return rows;
  }

  function fill(field, value) {
    value = value.trim();
    if (field.tagName === "SELECT") {
      var wanted = value.toLowerCase();
      var option = Array.prototype.find.call(field.options, function (o) {
        return o.value.toLowerCase() === wanted || o.text.trim().toLowerCase() === wanted;
      });
      if (!option && value) {
        // Not one of the choices: shown as pasted, and refused with a message on saving.
        option = new Option(value, value);
        field.add(option);
      }
      if (option) {
        field.value = option.value;
      }
    } else {
      field.value = field.tagName === "TEXTAREA" ? value : value.replace(/\s*\n\s*/g, " ");
    }
    field.classList.add("iku-pasted");
  }

  function columns(row) {
    return Array.prototype.slice.call(row.querySelectorAll("[data-col]:not([data-col=objective])"));
  }

  // Cells from an indicator cell on: that row and the rows below it in the objective, new
  // rows added as needed.
  function pasteIndicators(row, column, cells) {
    var block = row.closest("tbody");
    cells.forEach(function (values, n) {
      if (n > 0) {
        var next = neighbour(row, 1);
        row = next && next.classList.contains("iku-indicator") ? next : addIndicator(block);
      }
      var fields = columns(row);
      values.forEach(function (value, k) {
        var field = fields[column + k];
        if (field) {
          fill(field, value);
        }
      });
    });
  }

  // A whole table into an objective: its first column is the objective (empty, as merged
  // cells arrive: the one above), the others the indicator's, from its name on.
  function pasteTable(block, cells) {
    var first = true;
    var row = null;
    cells.forEach(function (values) {
      var name = values[0].trim();
      if (name && !first) {
        block = addObjective(block);
        row = null;
      }
      if (name) {
        fill(block.querySelector("[data-col=objective]"), name);
      }
      first = false;
      if (!values.slice(1).some(function (v) { return v.trim(); })) {
        return;
      }
      var rows = indicators(block).filter(live);
      var index = row ? rows.indexOf(row) + 1 : 0;
      row = rows[index] || addIndicator(block);
      var fields = columns(row);
      values.slice(1).forEach(function (value, k) {
        if (fields[k]) {
          fill(fields[k], value);
        }
      });
    });
  }

  table.addEventListener("paste", function (event) {
    var field = event.target.closest("[data-col]");
    var text = event.clipboardData && event.clipboardData.getData("text/plain");
    if (!field || !text || !/[\t\n]/.test(text.replace(/\s+$/, ""))) {
      return; // one value: the browser pastes it as usual
    }
    event.preventDefault();
    var cells = parseCells(text);
    var row = field.closest("tr");
    if (field.getAttribute("data-col") === "objective") {
      pasteTable(row.closest("tbody"), cells);
    } else {
      pasteIndicators(row, columns(row).indexOf(field), cells);
    }
    renumber();
  });
})();
