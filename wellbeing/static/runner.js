/* The student's questionnaire runner: autosave each answer as soon as it is chosen.

   - Each change POSTs JSON {instrument, item, value, seconds} to the form's
     data-answer-url, with the CSRF token of <meta name="csrf-token"> in X-CSRFToken.
   - Saves are queued one at a time per item: while one is in flight a newer answer
     waits and replaces any older waiting one, so an older answer never lands last.
   - A failed save (network, server error) is retried with exponential backoff (1 s,
     2 s, 4 s ... at most 30 s, and at once when the browser comes back online), and
     #save-status says "not saved yet - will retry" until it lands.
   - An answer the server refuses (400) is not retried; its message is shown.
   - 401/409 (no session, or the questionnaire can no longer be answered) stop saving
     and ask the student to enter the code again.
   - `beforeunload` warns while any save is pending (not when the section form itself
     is submitted: it carries every answer on the page).

   Response time of an item (seconds): from the later of the page being shown (every
   item of a section is shown together, when its page loads or is restored from the
   back/forward cache) and the previous answer on this page, to this answer. A simple
   and stable definition: the time the student spent on this answer before choosing it.

   Without JavaScript the form still works: Next/Submit POST the section's answers.
   No libraries (the CSP allows scripts from this site only). */
(function () {
  "use strict";

  var form = document.getElementById("section-form");
  if (!form) { return; }
  var meta = document.querySelector("meta[name='csrf-token']");
  var token = meta ? meta.getAttribute("content") : "";
  var status = document.getElementById("save-status");
  var text = form.dataset;
  var MAX_DELAY = 30000;

  var queues = {};   // "instrument:item" -> {next, inflight, failures, timer, refused}
  var ended = false;
  var leaving = false;

  function clock() {
    return window.performance && performance.now ? performance.now() : Date.now();
  }
  var shownAt = clock();
  var lastAnswerAt = shownAt;

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { shownAt = lastAnswerAt = clock(); }
  });

  function queue(key) {
    if (!queues[key]) {
      queues[key] = { next: null, inflight: null, failures: 0, timer: null, refused: null };
    }
    return queues[key];
  }

  function each(test) {
    return Object.keys(queues).filter(function (key) { return test(queues[key]); });
  }

  function pending() {
    return each(function (q) { return q.next || q.inflight; }).length > 0;
  }

  function setStatus(state, message) {
    status.dataset.state = state;
    status.textContent = message;
  }

  function refresh() {
    if (ended) { return; }
    var refused = each(function (q) { return q.refused; });
    if (refused.length) { setStatus("error", queues[refused[0]].refused); return; }
    if (each(function (q) { return q.failures > 0 && (q.next || q.inflight); }).length) {
      setStatus("retrying", text.msgRetry);
    } else if (pending()) {
      setStatus("saving", text.msgSaving);
    } else {
      setStatus("saved", text.msgSaved);
    }
  }

  function fieldset(key) {
    var parts = key.split(":");
    return document.getElementById("item-" + parts.slice(1).join(":"));
  }

  function showProgress(body) {
    if (typeof body.answered !== "number") { return; }
    document.getElementById("answered-count").textContent = String(body.answered);
    document.getElementById("total-count").textContent = String(body.total);
    var bar = document.getElementById("progress-bar");
    bar.max = body.total;
    bar.value = body.answered;
  }

  function end(message) {
    ended = true;
    Object.keys(queues).forEach(function (key) {
      var q = queues[key];
      if (q.timer) { clearTimeout(q.timer); }
      q.next = q.inflight = q.timer = null;
    });
    setStatus("ended", (message || text.msgEnded) + " ");
    var link = document.createElement("a");
    link.href = text.endedUrl;
    link.textContent = text.msgReenter;
    status.appendChild(link);
  }

  function retry(key, payload) {
    var q = queue(key);
    if (!q.next) { q.next = payload; }  // a newer answer waiting replaces this one
    q.failures += 1;
    var delay = Math.min(MAX_DELAY, 1000 * Math.pow(2, q.failures - 1));
    delay = delay * (0.8 + Math.random() * 0.4);  // a room of students should not retry in step
    q.timer = setTimeout(function () { q.timer = null; send(key); }, delay);
    refresh();
  }

  function read(response) {
    return response.json().then(
      function (body) { return { status: response.status, body: body || {} }; },
      function () { return { status: response.status, body: {} }; }
    );
  }

  function send(key) {
    var q = queue(key);
    if (ended || q.inflight || q.timer || !q.next) { refresh(); return; }
    var payload = q.next;
    q.next = null;
    q.inflight = payload;
    refresh();
    fetch(text.answerUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(payload)
    }).then(read).then(function (answer) {
      q.inflight = null;
      if (answer.status === 200) {
        q.failures = 0;
        q.refused = null;
        showProgress(answer.body);
        var box = fieldset(key);
        if (box) { box.classList.add("answered"); }
      } else if (answer.status === 401 || answer.status === 409) {
        end(answer.body.error);
        return;
      } else if (answer.status === 400 && answer.body.error) {
        q.failures = 0;
        q.refused = answer.body.error;
      } else {
        retry(key, payload);
        return;
      }
      send(key);  // a newer answer that waited
    }, function () {
      q.inflight = null;
      retry(key, payload);
    });
  }

  function answered(input) {
    var at = clock();
    var seconds = (at - Math.max(shownAt, lastAnswerAt)) / 1000;
    lastAnswerAt = at;
    var box = input.closest("fieldset.item");
    var key = input.name;
    var q = queue(key);
    q.refused = null;
    q.next = {
      instrument: box.dataset.instrument,
      item: box.dataset.item,
      value: parseInt(input.value, 10),
      seconds: Math.min(86400, Math.max(0, Math.round(seconds * 10) / 10))
    };
    send(key);
  }

  form.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "radio" && input.checked && input.closest("fieldset.item")) {
      answered(input);
    }
  });

  // Back online: retry what waits now rather than at the end of its backoff.
  window.addEventListener("online", function () {
    Object.keys(queues).forEach(function (key) {
      var q = queues[key];
      if (q.timer) { clearTimeout(q.timer); q.timer = null; send(key); }
    });
  });

  form.addEventListener("submit", function () { leaving = true; });

  window.addEventListener("beforeunload", function (event) {
    if (leaving || ended || !pending()) { return undefined; }
    event.preventDefault();
    event.returnValue = text.msgLeave;
    return text.msgLeave;
  });
}());
