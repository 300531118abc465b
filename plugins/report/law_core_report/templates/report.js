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
    if (node.sandbox) box.appendChild(el("p", {"class": "sandbox"}, "runs in the sandbox " + node.sandbox));
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

  function short(text, limit) {  // as render.py's _short
    text = String(text || "");
    return text.length <= limit ? text : text.slice(0, limit - 1) + "\u2026";
  }

  function countsLine(n) {  // as render.py's _counts_line
    var c = n.counts;
    if (n.kind !== "workflow") return n.state;
    var parts = [c.done + "/" + c.total + " done"];
    ["running", "pending", "failed", "unknown"].forEach(function (s) { if (c[s]) parts.push(c[s] + " " + s); });
    return parts.join(", ");
  }

  // a graph of more tasks than an SVG opens quickly with ([report] svg_max_tasks): the
  // same picture as graph.svg.j2 drawn on a canvas from the nodes' x and y in the page's
  // data, only what is in view, the names only once they are large enough to read
  var BARS = ["done", "running", "pending", "failed", "missing", "unknown"];
  function canvasGraph(view, canvas, data, state) {
    var nodes = data.nodes, edges = data.edges || [], ctx = canvas.getContext("2d");
    var NW = parseFloat(canvas.getAttribute("data-node-width")), NH = parseFloat(canvas.getAttribute("data-node-height"));
    var t = state.transform, dpr = 1, queued = 0, hover = null, count = {};
    nodes.forEach(function (n) { count[n.state] = (count[n.state] || 0) + 1; });
    var states = Object.keys(count).sort().map(function (s) { return s + ":" + count[s]; }).join(",");
    function size() {
      dpr = window.devicePixelRatio || 1;
      var w = view.clientWidth || 800, h = view.clientHeight || 520;
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
      canvas.style.width = w + "px"; canvas.style.height = h + "px";
    }
    function outline(n, round) {  // a task's box, added to the current path
      if (round) ctx.roundRect(n.x, n.y, NW, NH, 5); else ctx.rect(n.x, n.y, NW, NH);
    }
    function draw() {
      if (queued) cancelAnimationFrame(queued);
      queued = 0;
      var k = t.k || 1;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * t.x, dpr * t.y);
      var x0 = -t.x / k, y0 = -t.y / k, x1 = x0 + canvas.width / dpr / k, y1 = y0 + canvas.height / dpr / k;
      function inView(x, y, w, h) { return x + w >= x0 && x <= x1 && y + h >= y0 && y <= y1; }
      ctx.beginPath();
      edges.forEach(function (e) {
        var p = nodes[e[0]], c = nodes[e[1]];
        var px = p.x + NW / 2, py = p.y + NH, cx = c.x + NW / 2, cy = c.y, my = (py + cy) / 2;
        if (!inView(Math.min(px, cx), Math.min(py, cy), Math.abs(px - cx), Math.abs(py - cy))) return;
        ctx.moveTo(px, py);
        ctx.bezierCurveTo(px, my, cx, my, cx, cy);
      });
      ctx.lineWidth = 1.2; ctx.strokeStyle = "rgba(123,135,148,0.55)"; ctx.stroke();
      // one path per colour: a few dozen canvas calls for thousands of tasks
      var visible = nodes.filter(function (n) { return inView(n.x, n.y, NW, NH); });
      var round = ctx.roundRect && 5 * k >= 1, boxes = {}, bars = {};
      visible.forEach(function (n) {
        (boxes[n.state] = boxes[n.state] || []).push(n);
        var c = n.counts, from = 0;
        if (!c.total) return;
        BARS.forEach(function (s) {
          if (!c[s]) return;
          (bars[s] = bars[s] || []).push([n.x + from * NW, n.y + NH - 7, c[s] / c.total * NW]);
          from += c[s] / c.total;
        });
      });
      Object.keys(boxes).forEach(function (s) {
        ctx.beginPath();
        boxes[s].forEach(function (n) { outline(n, round); });
        ctx.fillStyle = STATE_COLORS[s] || "#000";
        ctx.globalAlpha = 0.25; ctx.fill(); ctx.globalAlpha = 1;
        ctx.strokeStyle = ctx.fillStyle; ctx.lineWidth = 1; ctx.stroke();
      });
      Object.keys(bars).forEach(function (s) {
        ctx.beginPath();
        bars[s].forEach(function (b) { ctx.rect(b[0], b[1], b[2], 7); });
        ctx.fillStyle = STATE_COLORS[s]; ctx.fill();
      });
      var chosen = nodes[state.selected];
      if (chosen && inView(chosen.x, chosen.y, NW, NH)) {
        ctx.beginPath();
        outline(chosen, round);
        ctx.lineWidth = 3; ctx.strokeStyle = "#102a43"; ctx.stroke();
      }
      if (NH * k >= 30) {  // the 12px names from 6px on
        ctx.fillStyle = "#102a43";
        visible.forEach(function (n) {
          ctx.font = "bold 12px sans-serif";
          ctx.fillText(short(n.family, 28), n.x + 8, n.y + 16);
          ctx.font = "11px sans-serif";
          ctx.fillText(short((n.params || n.kind) + (n.sandbox ? " in " + n.sandbox : ""), 32), n.x + 8, n.y + 31);
          ctx.fillText(short(countsLine(n), 34), n.x + 8, n.y + 46);
        });
      }
      // what the picture holds, once drawn: for people reading the DOM (and for the tests)
      canvas.setAttribute("data-nodes", nodes.length);
      canvas.setAttribute("data-edges", edges.length);
      canvas.setAttribute("data-states", states);
    }
    function at(clientX, clientY) {  // the task under the pointer, or null
      var r = canvas.getBoundingClientRect(), k = t.k || 1;
      var x = (clientX - r.left - t.x) / k, y = (clientY - r.top - t.y) / k;
      for (var i = nodes.length - 1; i >= 0; i--) {
        var n = nodes[i];
        if (x >= n.x && x <= n.x + NW && y >= n.y && y <= n.y + NH) return i;
      }
      return null;
    }
    canvas.addEventListener("mousemove", function (ev) {  // the SVG's <title>, as a tooltip
      var id = at(ev.clientX, ev.clientY);
      if (id === hover) return;
      hover = id;
      var n = nodes[id];
      canvas.title = id === null ? "" : n.repr + "\n" + countsLine(n) + (n.sandbox ? "\nin the sandbox " + n.sandbox : "");
      canvas.style.cursor = id === null ? "" : "pointer";
    });
    size();
    if (window.ResizeObserver) new ResizeObserver(function () { size(); draw(); }).observe(view);
    return {
      apply: function () { if (!queued) queued = requestAnimationFrame(draw); },
      draw: draw,
      nodeAt: function (ev) { return ev.target === canvas ? at(ev.clientX, ev.clientY) : null; }
    };
  }

  function setupGraph(section, data, state) {
    var view = section.querySelector(".graph-view"), svg = view.querySelector("svg");
    var canvas = svg ? null : view.querySelector("canvas.graph-canvas");
    if (!svg && !canvas) return;
    var W = parseFloat((svg || canvas).getAttribute(svg ? "width" : "data-width"));
    var H = parseFloat((svg || canvas).getAttribute(svg ? "height" : "data-height"));
    if (!isNaN(H)) view.style.height = Math.max(180, Math.min(520, H + 20)) + "px";
    var t = state.transform, picture;
    if (svg) {
      var g = svg.querySelector(".viewport");
      svg.setAttribute("width", "100%");
      svg.setAttribute("height", "100%");
      svg.removeAttribute("viewBox");
      picture = {
        apply: function () { g.setAttribute("transform", "translate(" + t.x + "," + t.y + ") scale(" + t.k + ")"); },
        draw: null,
        nodeAt: function (ev) {
          var node = ev.target.closest && ev.target.closest(".node");
          return node && section.contains(node) ? parseInt(node.getAttribute("data-id"), 10) : null;
        }
      };
    } else {
      picture = canvasGraph(view, canvas, data, state);
    }
    state.redraw = picture.draw;
    function apply() { picture.apply(); }
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
    if (picture.draw) picture.draw();  // at once, not at the next frame: in the page as opened
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
      var id = picture.nodeAt(ev);
      if (id !== null) select(section, data, state, id);
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
    if (state.redraw) state.redraw();
    showDetails(section, data, id);
  }

  // the table of all tasks, problems first: the first ROWS rows, ROWS more whenever it is
  // scrolled near its end, all when asked (laying out a table of thousands of rows, even
  // 300, takes Chromium longer than the rest of the page)
  var ROWS = 50, ORDER = {failed: 0, running: 1, pending: 2, unknown: 3, partial: 4, missing: 5, done: 6};
  function fillTable(section, data, state) {
    var body = section.querySelector("table.tasks tbody"), filter = section.querySelector(".filter");
    var order = data.nodes.map(function (n) { return n.id; }).sort(function (a, b) {
      return (ORDER[data.nodes[a].state] - ORDER[data.nodes[b].state]) || a - b;
    });
    var matches = [], shown = 0, box = section.querySelector(".task-table");
    function render() {  // the rows of the tasks that match the filter, from the top
      var q = (filter.value || "").toLowerCase();
      matches = order.filter(function (id) {
        var n = data.nodes[id];
        return !q || (n.family + " " + n.params + " " + n.state).toLowerCase().indexOf(q) >= 0;
      });
      body.innerHTML = "";
      shown = 0;
      more(ROWS);
    }
    function more(count) {  // the next count rows
      var upto = Math.min(matches.length, shown + count);
      for (; shown < upto; shown++) body.appendChild(rowOf(matches[shown]));
      section.querySelector(".shown").textContent = shown + " of " + matches.length + " shown";
      section.querySelector(".show-all").style.display = shown < matches.length ? "" : "none";
    }
    function rowOf(id) {  // the row of one task
      var n = data.nodes[id];
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
      var o = n.outputs || {}, dirs = o.dirs || [], others = dirs.length - 1 + (o.more_dirs || 0);
      row.appendChild(el("td", {"class": "outputs"}, (dirs[0] || "") + (others > 0 ? " (+" + others + ")" : "")));
      row.appendChild(el("td", {"class": "sandbox"}, n.sandbox || ""));
      row.addEventListener("click", function () { select(section, data, state, id); });
      if (id === state.selected) row.classList.add("selected");
      return row;
    }
    filter.addEventListener("input", render);
    section.querySelector(".show-all").addEventListener("click", function () { more(matches.length); });
    box.addEventListener("scroll", function () {
      if (shown < matches.length && box.scrollTop + box.clientHeight > box.scrollHeight - 200) more(ROWS);
    });
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
