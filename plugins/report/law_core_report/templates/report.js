// law-core-report: pan and zoom of the graph, the details of the selected task (branch grid
// drawn on a canvas from a run-length string), and, on the dashboard, polling for updates.
(function () {
  "use strict";
  var COLORS = {d: "#2e9d4a", r: "#2f7fd8", p: "#f0b429", f: "#d64545", m: "#a7adb5", u: "#8e6bbf"};
  var NAMES = {d: "done", r: "running", p: "pending", f: "failed", m: "missing", u: "unknown"};
  var STATE_COLORS = {done: "#2e9d4a", partial: "#9ccf6b", running: "#2f7fd8", pending: "#f0b429",
                      failed: "#d64545", missing: "#a7adb5", unknown: "#8e6bbf"};
  var views = {};  // run id or section id -> {transform, selected}

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function decode(rle) {  // "d3f1" -> [["d", 3], ["f", 1]]
    var runs = [], re = /([a-z])(\d+)/g, m;
    while ((m = re.exec(rle || ""))) runs.push([m[1], parseInt(m[2], 10)]);
    return runs;
  }

  function branchAt(node, i) {  // the i-th selected branch's number
    if (!node.keys) return i;
    for (var k = 0; k < node.keys.length; k++) {
      var span = node.keys[k][1] - node.keys[k][0];
      if (i < span) return node.keys[k][0] + i;
      i -= span;
    }
    return -1;
  }

  function drawGrid(box, node) {
    var runs = decode(node.grid), total = node.counts.total;
    if (!total) return;
    var width = Math.min(900, box.clientWidth || 900) - 4;
    var cell = Math.max(2, Math.min(16, Math.floor(Math.sqrt(width * 260 / total))));
    var cols = Math.max(1, Math.min(total, Math.floor(width / cell)));
    var rows = Math.ceil(total / cols);
    var canvas = el("canvas", {width: cols * cell, height: rows * cell, "class": "grid"});
    var ctx = canvas.getContext("2d"), i = 0, drawn = {};
    var gap = cell >= 6 ? 1 : 0;
    runs.forEach(function (run) {
      ctx.fillStyle = COLORS[run[0]] || "#000";
      drawn[run[0]] = (drawn[run[0]] || 0) + run[1];
      for (var k = 0; k < run[1]; k++, i++) {
        ctx.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell - gap, cell - gap);
      }
    });
    // what was drawn, per state: for people reading the DOM (and for the tests)
    canvas.setAttribute("data-drawn", Object.keys(drawn).sort().map(function (c) {
      return NAMES[c] + ":" + drawn[c];
    }).join(","));
    var info = el("div", {"class": "grid-info"});
    canvas.addEventListener("mousemove", function (ev) {
      var r = canvas.getBoundingClientRect(), sx = canvas.width / r.width;
      var col = Math.floor((ev.clientX - r.left) * sx / cell), row = Math.floor((ev.clientY - r.top) * sx / cell);
      var idx = row * cols + col;
      if (col >= cols || idx >= total) { info.textContent = ""; return; }
      var at = 0, code = "";
      for (var k = 0; k < runs.length; k++) { if (idx < at + runs[k][1]) { code = runs[k][0]; break; } at += runs[k][1]; }
      var b = branchAt(node, idx), err = node.errors && node.errors[String(b)];
      info.textContent = "branch " + b + ": " + NAMES[code] + (err ? " \u2014 " + err : "");
    });
    box.appendChild(canvas);
    box.appendChild(info);
  }

  function fmt(x, unit) { return x === null || x === undefined ? "" : (Math.round(x * 10) / 10) + (unit || ""); }

  function showDetails(section, data, id) {
    var node = data.nodes[id], box = section.querySelector(".details");
    box.innerHTML = "";
    box.setAttribute("data-id", id);
    box.appendChild(el("h3", {}, node.repr));
    var c = node.counts;
    var line = el("p", {"class": "counts"});
    line.textContent = node.kind + ", " + node.state + ": " + ["done", "running", "pending", "failed", "missing", "unknown"]
      .filter(function (s) { return c[s]; }).map(function (s) { return c[s] + " " + s; }).join(", ") + " of " + c.total;
    box.appendChild(line);
    if (node.problem) box.appendChild(el("p", {"class": "problem"}, node.problem));
    if (node.timing) {
      var t = node.timing, parts = [];
      if (t.seconds !== null && t.seconds !== undefined) parts.push("ran " + fmt(t.seconds, " s") + " (" + t.result + ")");
      if (t.branches) parts.push(t.branches.n + " branches timed: median " + fmt(t.branches.median, " s") + ", max " + fmt(t.branches.max, " s"));
      if (parts.length) box.appendChild(el("p", {"class": "timing"}, "timing: " + parts.join("; ")));
    }
    if (node.grid) {
      box.appendChild(el("div", {"class": "legend"}, "branches (one cell each, hover for the number):"));
      drawGrid(box, node);
    }
    if (node.failed_branches && node.failed_branches.length) {
      box.appendChild(el("p", {"class": "failed-list"}, "failed branches: " + node.failed_branches.join(", ")));
    }
    var errs = Object.keys(node.errors || {});
    if (errs.length) {
      errs.slice(0, 5).forEach(function (k) {
        box.appendChild(el("pre", {"class": "error"}, (k === "task" ? "" : "branch " + k + ": ") + node.errors[k]));
      });
    }
    if (node.jobs) {
      var j = node.jobs;
      var head = "jobs (" + j.managers.join(", ") + "): " + Object.keys(j.counts).sort().map(function (s) { return j.counts[s] + " " + s; }).join(", ");
      if (j.runtime) head += "; run time median " + fmt(j.runtime.median, " s") + ", max " + fmt(j.runtime.max, " s");
      if (j.memory_mb) head += "; peak memory median " + fmt(j.memory_mb.median, " MB") + ", max " + fmt(j.memory_mb.max, " MB");
      box.appendChild(el("p", {"class": "jobs-head"}, head));
      var table = el("table", {"class": "jobs-table"}), tr = el("tr");
      ["job", "id", "status", "attempt", "exit code", "branches", "host", "run time", "memory", "error"].forEach(function (h) { tr.appendChild(el("th", {}, h)); });
      table.appendChild(tr);
      j.list.slice(0, 500).forEach(function (job) {
        var row = el("tr", {"class": "job", "data-num": job.num, "data-status": job.status, "data-exit-code": job.exit_code === null ? "" : job.exit_code});
        [job.num, job.job_id, job.status, job.attempt, job.exit_code, job.branches, job.host,
         fmt(job.duration, " s"), fmt(job.max_rss_mb, " MB"), job.error].forEach(function (v, k) {
          row.appendChild(el("td", k === 2 ? {"class": "status-" + job.status} : {}, v));
        });
        table.appendChild(row);
      });
      box.appendChild(table);
      if (j.total > 500) box.appendChild(el("p", {}, (j.total - 500) + " more jobs not listed"));
      box.appendChild(el("p", {"class": "job-dirs"}, "job files: " + j.dirs.join(", ")));
    }
    var o = node.outputs || {};
    if (o.count) {
      box.appendChild(el("p", {"class": "outputs"}, o.count + " outputs in " + o.dirs.join(", ") + (o.more_dirs ? " and " + o.more_dirs + " more directories" : "")));
      box.appendChild(el("pre", {"class": "examples"}, o.examples.join("\n")));
    }
  }

  function setupGraph(section, data, state) {
    var view = section.querySelector(".graph-view"), svg = view.querySelector("svg");
    var g = svg.querySelector(".viewport");
    var W = parseFloat(svg.getAttribute("width")), H = parseFloat(svg.getAttribute("height"));
    if (!isNaN(H)) view.style.height = Math.max(180, Math.min(520, H + 20)) + "px";
    svg.setAttribute("width", "100%");
    svg.setAttribute("height", "100%");
    svg.removeAttribute("viewBox");
    var t = state.transform;
    function apply() { g.setAttribute("transform", "translate(" + t.x + "," + t.y + ") scale(" + t.k + ")"); }
    function fit() {
      var vw = view.clientWidth || 800, vh = view.clientHeight || 520;
      var k = Math.min(vw / W, vh / H, 1.5);
      t.k = k; t.x = (vw - W * k) / 2; t.y = Math.max(0, (vh - H * k) / 2); apply();
    }
    function zoom(f, cx, cy) {
      var k = Math.max(0.02, Math.min(8, t.k * f));
      t.x = cx - (cx - t.x) * k / t.k; t.y = cy - (cy - t.y) * k / t.k; t.k = k; apply();
    }
    if (!t.k) fit(); else apply();
    view.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = view.getBoundingClientRect();
      zoom(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
    }, {passive: false});
    var drag = null;
    view.addEventListener("mousedown", function (ev) { drag = {x: ev.clientX, y: ev.clientY, tx: t.x, ty: t.y, moved: false}; view.classList.add("dragging"); });
    window.addEventListener("mousemove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      t.x = drag.tx + dx; t.y = drag.ty + dy; apply();
    });
    window.addEventListener("mouseup", function (ev) {
      if (!drag) return;
      var moved = drag.moved; drag = null; view.classList.remove("dragging");
      if (moved) return;
      var node = ev.target.closest && ev.target.closest(".node");
      if (node && section.contains(node)) select(section, data, state, parseInt(node.getAttribute("data-id"), 10));
    });
    section.querySelector(".fit").addEventListener("click", fit);
    section.querySelector(".zoom-in").addEventListener("click", function () { zoom(1.4, view.clientWidth / 2, view.clientHeight / 2); });
    section.querySelector(".zoom-out").addEventListener("click", function () { zoom(1 / 1.4, view.clientWidth / 2, view.clientHeight / 2); });
  }

  function select(section, data, state, id) {
    state.selected = id;
    section.querySelectorAll(".selected").forEach(function (e) { e.classList.remove("selected"); });
    section.querySelectorAll('[data-id="' + id + '"]').forEach(function (e) { if (!e.classList.contains("details")) e.classList.add("selected"); });
    section.setAttribute("data-selected", id);
    showDetails(section, data, id);
  }

  // the table of all tasks, problems first; the first ROWS rows until asked for all (a DOM
  // of thousands of rows makes the page slow to open)
  var ROWS = 300, ORDER = {failed: 0, running: 1, pending: 2, unknown: 3, partial: 4, missing: 5, done: 6};
  function fillTable(section, data, state) {
    var body = section.querySelector("table.tasks tbody"), filter = section.querySelector(".filter");
    var order = data.nodes.map(function (n) { return n.id; }).sort(function (a, b) {
      return (ORDER[data.nodes[a].state] - ORDER[data.nodes[b].state]) || a - b;
    });
    var all = false;
    function render() {
      var q = (filter.value || "").toLowerCase(), shown = 0, matched = 0;
      body.innerHTML = "";
      order.forEach(function (id) {
        var n = data.nodes[id];
        if (q && (n.family + " " + n.params + " " + n.state).toLowerCase().indexOf(q) < 0) return;
        matched++;
        if (!all && shown >= ROWS) return;
        shown++;
        var c = n.counts, row = el("tr", {"class": "row state-" + n.state, "data-id": id, "data-family": n.family, "data-state": n.state});
        var fam = el("td", {"class": "family"}, n.family);
        if (n.kind !== "workflow") fam.appendChild(el("small", {}, " (" + n.kind + ")"));
        row.appendChild(fam);
        row.appendChild(el("td", {"class": "params"}, n.params));
        var st = el("td", {"class": "state"}), dot = el("i");
        dot.style.background = STATE_COLORS[n.state] || "#000";
        st.appendChild(dot); st.appendChild(document.createTextNode(n.state)); row.appendChild(st);
        ["done", "running", "pending", "failed", "missing", "total"].forEach(function (s) { row.appendChild(el("td", {"class": "n-" + s}, c[s])); });
        var fb = n.failed_branches || [];
        row.appendChild(el("td", {"class": "failed-branches"}, fb.slice(0, 10).join(", ") + (fb.length > 10 ? ", \u2026" : "")));
        row.appendChild(el("td", {"class": "jobs"}, n.jobs ? Object.keys(n.jobs.counts).sort().map(function (s) { return n.jobs.counts[s] + " " + s; }).join(", ") : ""));
        var o = n.outputs || {}, dirs = o.dirs || [], more = dirs.length - 1 + (o.more_dirs || 0);
        row.appendChild(el("td", {"class": "outputs"}, (dirs[0] || "") + (more > 0 ? " (+" + more + ")" : "")));
        row.addEventListener("click", function () { select(section, data, state, id); });
        if (id === state.selected) row.classList.add("selected");
        body.appendChild(row);
      });
      section.querySelector(".shown").textContent = shown + " of " + matched + " shown";
      section.querySelector(".show-all").style.display = shown < matched ? "" : "none";
    }
    filter.addEventListener("input", render);
    section.querySelector(".show-all").addEventListener("click", function () { all = true; render(); });
    render();
  }

  function init(section) {
    var data = JSON.parse(section.querySelector(".report-data").textContent);
    var key = section.getAttribute("data-run") || section.getAttribute("data-sid");
    var state = views[key] || (views[key] = {transform: {}, selected: null});
    setupGraph(section, data, state);
    fillTable(section, data, state);
    var initial = state.selected;
    if (initial === null || !data.nodes[initial]) {
      initial = data.root;
      for (var i = 0; i < data.nodes.length; i++) { if (data.nodes[i].counts.failed) { initial = i; break; } }
    }
    if (data.nodes.length) select(section, data, state, initial);
  }

  document.querySelectorAll("section.report").forEach(init);

  // the dashboard: new state every few seconds, a section replaced only when it changed
  var live = JSON.parse(document.getElementById("live-config").textContent || "{}");
  if (!live.url) return;
  var versions = {};
  document.querySelectorAll("section.report").forEach(function (s) { versions[s.getAttribute("data-run")] = s.getAttribute("data-version"); });
  function poll() {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", live.url);
    if (live.token) xhr.setRequestHeader("Authorization", "Bearer " + live.token);
    xhr.onload = function () {
      if (xhr.status === 200) {
        var state = JSON.parse(xhr.responseText), box = document.getElementById("sections"), wanted = {};
        state.runs.forEach(function (run, index) {
          wanted[run.run] = true;
          var current = box.querySelector('section[data-run="' + run.run + '"]');
          if (current && versions[run.run] === run.version) return;
          var holder = document.createElement("div");
          holder.innerHTML = run.html;
          var fresh = holder.querySelector("section");
          fresh.setAttribute("data-version", run.version);
          if (current) box.replaceChild(fresh, current);
          else box.insertBefore(fresh, box.children[index] || null);
          versions[run.run] = run.version;
          init(fresh);
        });
        box.querySelectorAll("section.report").forEach(function (s) { if (!wanted[s.getAttribute("data-run")]) s.remove(); });
        document.querySelector(".live-note").textContent = "; live, updated " + new Date().toLocaleTimeString();
      }
      setTimeout(poll, live.interval || 2000);
    };
    xhr.onerror = function () { setTimeout(poll, live.interval || 2000); };
    xhr.send();
  }
  poll();
})();
