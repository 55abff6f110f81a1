// invest-crm staff UI: charts from JSON data islands (ECharts), the board's drag and drop, the dialog, the phone
// menu. No inline script anywhere: the pages' Content-Security-Policy forbids it.
(function () {
  "use strict";

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var charts = {
    funnel: function (d) {
      // On the flow basis a later stage can exceed an earlier one: bars then, never an upside-down funnel.
      if (d.bars) {
        return {
          tooltip: { trigger: "axis" },
          grid: { left: 40, right: 16, top: 16, bottom: 24 },
          xAxis: { type: "category", data: d.funnel.map(function (s) { return s.name; }) },
          yAxis: { type: "value", minInterval: 1 },
          series: [{ type: "bar", data: d.funnel.map(function (s) { return s.value; }), label: { show: true, position: "top" } }]
        };
      }
      return {
        tooltip: { trigger: "item", formatter: "{b}:{c} 个" },
        series: [{
          type: "funnel", left: "5%", width: "90%", sort: "none", minSize: "30%", gap: 2,
          label: { show: true, position: "inside", formatter: "{b} {c}" },
          data: d.funnel
        }]
      };
    },
    months: function (d) {
      return {
        tooltip: { trigger: "axis" },
        legend: { top: 0, data: ["来访批次", "签约项目"] },
        grid: { left: 40, right: 40, top: 48, bottom: 24 },
        xAxis: { type: "category", data: d.months.map(function (m) { return m.month + "月"; }) },
        yAxis: [{ type: "value", name: "批次", minInterval: 1 }, { type: "value", name: "个", minInterval: 1 }],
        series: [
          { name: "来访批次", type: "bar", data: d.months.map(function (m) { return m.visit_batches; }) },
          { name: "签约项目", type: "line", yAxisIndex: 1, data: d.months.map(function (m) { return m.signed; }) }
        ]
      };
    }
  };

  // 客商来源地图: the provinces coloured by their visits; the map's outline is fetched once (a cached asset of this
  // site) and registered before the chart is drawn; a click opens the province's projects.
  var chinaMap = null;
  function drawMap(el, d) {
    var draw = function () {
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
      var max = Math.max.apply(null, [1].concat(d.provinces.map(function (p) { return p.value; })));
      chart.setOption({
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            var v = p.data;
            if (!v) return p.name + ":无记录";
            return p.name + "<br>来访 " + v.value + " 批 " + v.person_times + " 人次<br>新增线索 " + v.projects +
              " 个,签约 " + v.signed + " 个<br>签约投资额 " + v.investment + " 万元";
          }
        },
        visualMap: { min: 0, max: max, left: 0, bottom: 0, text: ["来访多", "少"], calculable: false,
          inRange: { color: ["#e6f4ff", "#1677ff"] } },
        series: [{ type: "map", map: "china", roam: false, data: d.provinces,
          label: { show: false }, emphasis: { label: { show: true } } }]
      });
      chart.off("click");
      chart.on("click", function (p) {
        if (p.name) window.location.href = "/projects?province=" + encodeURIComponent(p.name);
      });
    };
    if (chinaMap) { draw(); return; }
    fetch(d.geo).then(function (r) { return r.json(); }).then(function (geo) {
      chinaMap = geo;
      window.echarts.registerMap("china", geo);
      draw();
    });
  }

  function drawCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart=china]").forEach(function (el) {
      var d = data(el.dataset.source);
      if (d) drawMap(el, d);
    });
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var make = charts[el.dataset.chart];
      var d = data(el.dataset.source);
      if (!make || !d) return;
      var chart = window.echarts.getInstanceByDom(el) || window.echarts.init(el);
      chart.setOption(make(d));
    });
  }

  window.addEventListener("resize", function () {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var c = window.echarts.getInstanceByDom(el);
      if (c) c.resize();
    });
  });

  var modal = function () { return document.getElementById("modal"); };

  // A response swapped into the dialog opens it; a response that empties it closes it.
  document.addEventListener("htmx:afterSwap", function (e) {
    var m = modal();
    if (e.detail.target && e.detail.target.id === "modal-body" && m) {
      if (e.detail.target.innerHTML.trim() && !m.open) m.showModal();
      if (!e.detail.target.innerHTML.trim() && m.open) m.close();
    }
    drawCharts(e.detail.target || document);
    // A chip added from a picker's suggestions: the search box and its suggestions are done.
    var chips = e.detail.target;
    if (chips && chips.classList && chips.classList.contains("chips")) {
      var field = chips.closest(".field");
      var box = field && field.querySelector("input[type=search]");
      var picks = field && field.querySelector(".picks");
      if (box) box.value = "";
      if (picks) picks.innerHTML = "";
    }
  });

  document.addEventListener("click", function (e) {
    var t = e.target;
    if (t.closest("[data-toggle-menu]")) {
      document.getElementById("sidemenu").classList.toggle("open");
    }
    if (t.closest("[data-close-modal]")) {
      e.preventDefault();
      var m = modal();
      if (m && m.open) m.close();
    }
    var chip = t.closest("[data-remove-chip]");
    if (chip) {
      chip.closest(".chip").remove();
    }
    // The project form's source picker: the suggestion picked becomes the one source record chip.
    var pick = t.closest("[data-pick-source]");
    if (pick) {
      var picker = pick.closest("[data-source-picker]");
      var holder = picker.querySelector("#source-chip");
      var chipEl = document.createElement("span");
      chipEl.className = "chip";
      [["source_ref", pick.dataset.pickSource], ["source_label", pick.dataset.label]].forEach(function (kv) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = kv[0]; input.value = kv[1];
        chipEl.appendChild(input);
      });
      chipEl.appendChild(document.createTextNode(pick.dataset.label));
      var x = document.createElement("button");
      x.type = "button"; x.className = "chip-x"; x.setAttribute("data-remove-chip", ""); x.setAttribute("aria-label", "移除");
      x.textContent = "×";
      chipEl.appendChild(x);
      holder.replaceChildren(chipEl);
      picker.querySelector("input[type=search]").value = "";
      picker.querySelector(".picks").innerHTML = "";
    }
    if (t.closest("[data-reload]")) {
      e.preventDefault();
      window.location.reload();
    }
  });

  // A board (projects, incubation): a card dropped on another stage's column asks the server for its move dialog
  // (the card's data-move address) with the stage dropped on.
  document.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest("[data-move]");
    if (!card) return;
    e.dataTransfer.setData("text/plain", card.dataset.move);
    e.dataTransfer.effectAllowed = "move";
  });
  document.addEventListener("dragover", function (e) {
    var col = e.target.closest && e.target.closest("[data-stage-column]");
    if (col) { e.preventDefault(); col.classList.add("drop"); }
  });
  document.addEventListener("dragleave", function (e) {
    var col = e.target.closest && e.target.closest("[data-stage-column]");
    if (col) col.classList.remove("drop");
  });
  document.addEventListener("drop", function (e) {
    var col = e.target.closest && e.target.closest("[data-stage-column]");
    if (!col) return;
    e.preventDefault();
    col.classList.remove("drop");
    var url = e.dataTransfer.getData("text/plain");
    if (!url || url.charAt(0) !== "/" || !window.htmx) return;
    window.htmx.ajax("GET", url + "?to=" + encodeURIComponent(col.dataset.stageColumn),
      { target: "#modal-body", swap: "innerHTML" });
  });

  // The period picker shows the week or the dates only when they are what is picked.
  function showSpanFields(select) {
    var form = select.closest("form");
    form.querySelectorAll("[data-when-span]").forEach(function (el) {
      el.hidden = el.dataset.whenSpan !== select.value;
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches("select[data-span]")) showSpanFields(e.target);
  });

  // A write's confirmation (the server's HX-Trigger `toast`): shown for a few seconds; when the answer reloads or
  // leaves the page, kept for the page that comes next.
  var toastTimer;
  function showToast(message) {
    var t = document.getElementById("toast");
    if (!t || !message) return;
    t.textContent = message;
    t.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.classList.remove("show"); }, 4000);
  }
  document.addEventListener("toast", function (e) {
    var d = e.detail || {};
    if (d.carry) {
      try { sessionStorage.setItem("toast", d.message); } catch (_) { /* private mode: no toast */ }
    } else {
      showToast(d.message);
    }
  });

  // A list that turns into cards on a phone: each cell carries its header's name (shown before it by the CSS).
  function labelCells(root) {
    root.querySelectorAll("table.cards").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (td, i) {
          if (heads[i] && !td.hasAttribute("colspan")) td.setAttribute("data-label", heads[i]);
        });
      });
    });
  }
  document.addEventListener("htmx:afterSwap", function (e) { labelCells(e.detail.target || document); });

  document.addEventListener("DOMContentLoaded", function () {
    labelCells(document);
    try {
      var kept = sessionStorage.getItem("toast");
      if (kept) { sessionStorage.removeItem("toast"); showToast(kept); }
    } catch (_) { /* private mode: no toast */ }
    drawCharts(document);
    document.querySelectorAll("select[data-span]").forEach(showSpanFields);
  });
})();
