// Shows how far a round's matching has got, without reloading the page: every 2 seconds it
// asks /rounds/{id}/progress, moves the <progress> bar and writes the job's latest message
// into a polite live region; when the job has ended it reloads the page once, to show the
// proposals. A file of the site's own, so it runs under script-src 'self'; without
// JavaScript the page offers a Refresh link instead.
(function () {
  "use strict";
  var box = document.getElementById("round-progress");
  if (!box) return;
  var url = box.dataset.progressUrl;
  var bar = document.getElementById("progress");
  var message = document.getElementById("progress-message");
  var manual = document.getElementById("progress-manual");
  var automatic = document.getElementById("progress-automatic");
  if (manual) manual.hidden = true;
  if (automatic) automatic.hidden = false;

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (answer) {
        if (!answer.ok) throw new Error(answer.status);
        return answer.json();
      })
      .then(function (job) {
        if (!job.running) {
          window.location.reload();
          return;
        }
        if (typeof job.progress === "number") {
          bar.value = job.progress;
          bar.textContent = Math.round(job.progress * 100) + "%";
        }
        if (job.message && message.textContent !== job.message) {
          message.textContent = job.message;
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        // Signed out or the server away: stop, and offer the link again.
        if (manual) manual.hidden = false;
        if (automatic) automatic.hidden = true;
      });
  }
  window.setTimeout(poll, 2000);
})();
