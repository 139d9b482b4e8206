/* The school doctor's entry grid: keyboard movement, a range check as each value is
   typed, and a save of each row (POST JSON, CSRF token in a header) as soon as focus
   leaves it. The server checks again with the national rules and answers with the
   derived class or the column at fault. Also the letters page's print button.
   Shipped with the package, no dependencies (the CSP allows scripts from this site only). */
(function () {
  "use strict";

  var printButton = document.getElementById("print-now");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }

  var grid = document.getElementById("entry-grid");
  if (!grid) { return; }
  var token = document.getElementById("csrf-token").value;
  var dateInput = document.getElementById("measured-on");
  var body = grid.tBodies[0];
  var text = grid.dataset;

  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr.entry-row")); }
  function cells(row) {
    return Array.prototype.slice.call(row.querySelectorAll("input, select"));
  }
  // The cells the keyboard visits: a reason only when the student was not measured.
  function stops(row) {
    return cells(row).filter(function (element) { return !element.disabled; });
  }
  // The cells Enter visits: the status menu and the ortho-k box only once they are used
  // (not measured, ticked), so a measured row takes one Enter per value. Tab visits all.
  function enterStops(row, from) {
    return stops(row).filter(function (element) {
      if (element === from) { return true; }
      if (element.name === "status") { return element.value !== "measured"; }
      if (element.type === "checkbox") { return element.checked; }
      return true;
    });
  }
  function rowOf(element) { return element.closest("tr.entry-row"); }

  function numberText(value) {
    // Full-width digits and a decimal comma, as some input methods type them.
    return value.trim().replace(/[\uff10-\uff19]/g, function (c) {
      return String.fromCharCode(c.charCodeAt(0) - 0xfee0);
    }).replace(/\uff0e|,/g, ".").replace(/\uff0d/g, "-");
  }

  // What is wrong with a cell is said beside it (under the value, in the same cell).
  function mark(input, message) {
    input.classList.toggle("invalid", Boolean(message));
    input.setAttribute("aria-invalid", message ? "true" : "false");
    input.title = message || "";
    var cell = input.closest("td");
    var note = cell && cell.querySelector(".cell-error");
    if (!message) {
      if (note) { note.remove(); input.removeAttribute("aria-describedby"); }
      return;
    }
    if (!note) {
      note = document.createElement("div");
      note.className = "cell-error";
      note.id = "error-" + input.name + "-" + rowOf(input).dataset.student;
      note.setAttribute("role", "alert");
      cell.appendChild(note);
      input.setAttribute("aria-describedby", note.id);
    }
    note.textContent = message;
  }

  // A run time typed as seconds (230) or minutes and seconds (3'50", 3′50″, 3:50,
  // 3分50秒), as the server reads it; NaN when it is neither.
  function seconds(raw) {
    var text = raw.replace(/\u2033|\u201d|\u201c|\u79d2/g, "\"")
      .replace(/[\u2032\u2019\u2018`\u00b4\u5206]/g, "'").replace(/\uff1a/g, ":")
      .replace(/''/g, "\"").replace(/\s+/g, "");
    var found = /^(?:(\d+)['：:])?(\d+(?:\.\d+)?)?"?$/.exec(text);
    if (!found || (found[1] === undefined && found[2] === undefined)) { return NaN; }
    var secs = Number(found[2] || 0);
    if (found[1] === undefined) { return secs; }
    return secs >= 60 ? NaN : Number(found[1]) * 60 + secs;
  }

  function inRange(input) {
    if (!input.dataset.min) { return true; }
    var raw = numberText(input.value);
    if (raw === "") { mark(input, ""); return true; }
    var value = input.hasAttribute("data-time") ? seconds(raw) : Number(raw);
    var ok = isFinite(value) && (
      (value >= Number(input.dataset.min) && value <= Number(input.dataset.max)) ||
      (value === 0 && input.hasAttribute("data-zero-ok")));
    mark(input, ok ? "" : input.dataset.rangeMessage);
    return ok;
  }

  var SYMBOLS = { saving: "\u2026", saved: "\u2713", error: "\u2717", failed: "!", editing: "" };

  // The state cell holds a symbol; what went wrong is said in a line under the row,
  // as wide as the grid, so it is read where the doctor is looking.
  function setState(row, state, message) {
    row.dataset.state = state;
    var cell = row.querySelector(".row-state");
    cell.textContent = SYMBOLS[state] || "";
    cell.title = message || "";
    var next = row.nextElementSibling;
    var line = next && next.classList.contains("row-message") ? next : null;
    if (!message || state === "saved" || state === "saving") {
      if (line) { line.remove(); }
      return;
    }
    if (!line) {
      line = document.createElement("tr");
      line.className = "row-message";
      line.appendChild(document.createElement("td"));
      line.firstChild.colSpan = row.cells.length;
      line.firstChild.setAttribute("role", "alert");
      row.after(line);
    }
    line.firstChild.textContent = message;
  }

  function payload(row) {
    var data = { student: row.dataset.student, measured_on: dateInput.value };
    stops(row).forEach(function (element) {
      var typed = element.classList.contains("measure") && !element.hasAttribute("data-time");
      data[element.name] = element.type === "checkbox" ? element.checked :
        (typed ? numberText(element.value) : element.value);
    });
    return data;
  }

  function showSaved(row, answer) {
    cells(row).forEach(function (element) { mark(element, ""); });
    Array.prototype.forEach.call(row.querySelectorAll("[data-derived]"), function (cell) {
      var key = cell.dataset.derived;
      var shown = answer.display[key];
      if (shown === undefined && (key === "myopia_degree" || key === "bmi_class")) {
        shown = answer.display.status;  // absent or exempt: say so where the class goes
      }
      cell.textContent = shown || "";
    });
    setState(row, "saved", text.msgSaved);
  }

  // Every refused value of the row at once, each beside its own cell; what belongs to
  // no cell (the row as a whole) in the line under the row.
  function showErrors(row, errors) {
    var rowMessages = [];
    var perCell = {};
    cells(row).forEach(function (element) { mark(element, ""); });
    errors.forEach(function (error) {
      var input = error.column && row.querySelector("[name='" + error.column + "']");
      if (input) {
        perCell[error.column] = (perCell[error.column] ? perCell[error.column] + " " : "") +
          error.message;
        mark(input, perCell[error.column]);
      } else {
        rowMessages.push(error.message);
      }
    });
    setState(row, "error", rowMessages.join(" ") || text.msgRefused);
  }

  function save(row) {
    // One save per row at a time, in order: an older answer must never land last.
    if (row.dataset.state === "saving") { row.dataset.queued = "1"; return; }
    row.dataset.dirty = "";
    setState(row, "saving", text.msgSaving);
    fetch(text.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": token
      },
      body: JSON.stringify(payload(row))
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) {
        // A lapsed session answers with the login page; a server fault with its page.
        var message = response.ok || response.redirected ? text.msgSession :
          text.msgServer.replace("{status}", String(response.status));
        return { ok: false, unsaved: message };
      }
      return response.json();
    }, function () {
      return { ok: false, unsaved: text.msgFailed };  // the request never got an answer
    }).then(function (answer) {
      if (answer.ok) {
        showSaved(row, answer);
      } else if (answer.errors && answer.errors.length) {
        showErrors(row, answer.errors);
      } else {
        row.dataset.queued = "";
        row.dataset.dirty = "1";
        setState(row, "failed", answer.unsaved || text.msgServer.replace("{status}", "?"));
        return;
      }
      if (row.dataset.queued) {  // edited again while this save was on its way
        row.dataset.queued = "";
        save(row);
      }
    });
  }

  function saveIfDirty(row) {
    if (row && row.dataset.dirty) { save(row); }
  }

  function focusCell(element) {
    if (!element) { return; }
    element.focus();
    if (element.select && element.type === "text") { element.select(); }
  }

  function move(from, step) {
    var row = rowOf(from);
    var list = enterStops(row, from);
    var index = list.indexOf(from) + step;
    if (index >= 0 && index < list.length) { focusCell(list[index]); return; }
    var all = rows();
    var next = all[all.indexOf(row) + (step > 0 ? 1 : -1)];
    if (!next) { saveIfDirty(row); return; }
    var nextCells = enterStops(next, null);
    focusCell(step > 0 ? nextCells[0] : nextCells[nextCells.length - 1]);
  }

  function moveVertically(from, step) {
    // By column position: one column may hold boys' and girls' items (different names).
    var all = rows();
    var target = all[all.indexOf(rowOf(from)) + step];
    var cell = target && target.cells[from.closest("td").cellIndex];
    if (cell) { focusCell(cell.querySelector("input:not([disabled]), select")); }
  }

  body.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target.name) { return; }
    if (event.key === "Enter") {
      event.preventDefault();
      move(target, event.shiftKey ? -1 : 1);
    } else if (target.type === "text" && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      moveVertically(target, event.key === "ArrowDown" ? 1 : -1);
    }
  });

  body.addEventListener("input", function (event) {
    var row = rowOf(event.target);
    if (!row) { return; }
    row.dataset.dirty = "1";
    setState(row, "editing", "");
    inRange(event.target);
  });

  body.addEventListener("change", function (event) {
    var row = rowOf(event.target);
    if (!row) { return; }
    row.dataset.dirty = "1";
    if (event.target.name === "status") {
      // Absent or exempt: a reason, and no measurement (the server keeps none).
      var measured = event.target.value === "measured";
      cells(row).forEach(function (element) {
        if (element.name === "reason") { element.disabled = measured; }
        else if (element.name !== "status") { element.disabled = !measured; }
      });
      if (!measured) { focusCell(row.querySelector("[name='reason']")); }
    }
  });

  // A row is complete when the focus leaves it: save it then.
  body.addEventListener("focusout", function (event) {
    var row = rowOf(event.target);
    if (row && !(event.relatedTarget && row.contains(event.relatedTarget))) {
      saveIfDirty(row);
    }
  });

  window.addEventListener("beforeunload", function (event) {
    var pending = rows().some(function (row) {
      // Unsaved edits, a save on its way, or a row the server refused: all would be lost.
      return row.dataset.dirty || row.dataset.state === "saving" || row.dataset.state === "error";
    });
    if (pending) {
      event.preventDefault();
      event.returnValue = text.msgUnsaved;
    }
  });
}());
