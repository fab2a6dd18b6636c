// A little behaviour over server-rendered pages: load a file or an example into the editor, show
// progress while a check runs, put the cursor on a syntax error, keep the work on a language switch.
(function () {
  "use strict";
  var EXT = {ttl: "turtle", jsonld: "jsonld", json: "jsonld", rdf: "rdfxml", xml: "rdfxml", owl: "rdfxml", nt: "ntriples", trig: "trig"};
  var editor = document.getElementById("description");
  var upload = document.getElementById("upload");
  if (upload && editor) {
    upload.addEventListener("change", function () {
      var file = upload.files[0];
      if (!file) return;
      var ext = file.name.split(".").pop().toLowerCase();
      if (EXT[ext]) document.getElementById("format").value = EXT[ext];
      file.text().then(function (text) { editor.value = text; });
    });
  }
  var example = document.getElementById("example");
  if (example) {
    example.addEventListener("change", function () {
      if (example.value) location.href = example.dataset.href + encodeURIComponent(example.value);
    });
  }
  // Where the parser stopped: select that position in the editor and scroll it into view.
  if (editor && editor.dataset.errorLine) {
    var line = parseInt(editor.dataset.errorLine, 10), column = parseInt(editor.dataset.errorColumn, 10);
    var lines = editor.value.split("\n"), start = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) start += lines[i].length + 1;
    var lineText = lines[line - 1] || "";
    editor.focus();
    editor.setSelectionRange(start + Math.max(0, column - 1), start + Math.max(column, lineText.length));
    editor.scrollTop = Math.max(0, (line - 3) * 19);
  }
  // Progress: a check is one reasoner call and one SHACL call for the whole file.  For a large
  // description the page first asks how many datasets it holds (parsing only) and shows the
  // count and an estimate; then it submits the check and shows how long it has been running.
  var form = document.getElementById("check-form");
  var SCAN_FROM_BYTES = 20000;
  if (form && editor) {
    var submitting = false;
    form.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.getAttribute("formaction")) return;  // a download
      if (submitting) return;
      submitting = true;
      var box = document.getElementById("progress"), text = document.getElementById("progress-text");
      var bar = box.querySelector("progress");
      var bytes = new Blob([editor.value]).size, started = Date.now(), estimate = 0;
      text.textContent = text.dataset.template.replace("{n}", bytes.toLocaleString());
      box.hidden = false;
      document.getElementById("check-button").disabled = true;
      setInterval(function () {
        var elapsed = (Date.now() - started) / 1000;
        document.getElementById("elapsed").textContent = Math.round(elapsed);
        if (estimate) bar.value = Math.min(0.95, elapsed / estimate);
      }, 250);
      if (bytes < SCAN_FROM_BYTES) return;
      event.preventDefault();
      fetch("/ui/check/scan", {method: "POST", body: new URLSearchParams(new FormData(form))})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (scan) {
          if (scan) {
            estimate = scan.estimate_s;
            bar.max = 1;
            bar.value = 0;
            text.textContent = text.dataset.scanTemplate.replace("{datasets}", scan.datasets.toLocaleString())
              .replace("{triples}", scan.triples.toLocaleString()).replace("{estimate}", scan.estimate_s);
          }
        })
        .catch(function () {})
        .then(function () { form.submit(); });
    });
  }
  // The language switch keeps the work: pages built from a form are submitted again.
  var switcher = document.getElementById("lang-switch");
  var resubmit = document.querySelector("form[data-resubmit]");
  if (switcher && resubmit) {
    switcher.addEventListener("click", function (event) {
      var area = resubmit.querySelector("textarea");
      if (!area || !area.value.trim() || document.body.dataset.method !== "POST") return;
      event.preventDefault();
      var lang = /\/ui\/lang\/(\w+)/.exec(switcher.getAttribute("href"))[1];
      document.cookie = "derivecert-lang=" + lang + "; path=/; max-age=31536000; samesite=lax";
      resubmit.submit();
    });
  }
})();
