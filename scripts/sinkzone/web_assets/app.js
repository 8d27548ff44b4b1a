/* sinkzone web map: Leaflet (L.CRS.EPSG4326), layers from data.js, live explain when served. */
(function () {
  "use strict";
  var SZ = window.SZ, LIVE = window.SZ_LIVE;
  var T = {
    en: {layers: "Layers", boundaries: "Boundaries", legend: "Legend", none: "none",
         results: "Results", measures: "Eligible area of each measure", inputs: "Input layers",
         province: "provinces", prefecture: "prefectures", county: "counties",
         mt: "Mt CO2/yr", top: "top measures", primary: "Primary measure",
         potential: "Allocated potential (low / central / high, t CO2/yr)",
         eligible: "Eligible measures", noteligible: "Not eligible", notmapped: "Not mapped",
         share: "share", allocated: "allocated", fails: "fails", removed: "removed by",
         cell: "Cell", static: "Static export: the explanation of a cell needs `sinkzone serve`.",
         outside: "Outside the analysis region", actual: "actual", loading: "loading..."},
    zh: {layers: "图层", boundaries: "边界", legend: "图例", none: "无",
         results: "结果", measures: "各措施的适宜面积", inputs: "输入图层",
         province: "省", prefecture: "地级市", county: "县",
         mt: "百万吨CO2/年", top: "主要措施", primary: "主要措施",
         potential: "分配的潜力（低/中/高，吨CO2/年）",
         eligible: "适宜措施", noteligible: "不适宜", notmapped: "未制图",
         share: "比例", allocated: "分配", fails: "未满足", removed: "被约束排除",
         cell: "栅格", static: "静态导出：栅格解释需要运行 sinkzone serve。",
         outside: "在分析区域之外", actual: "实际值", loading: "加载中..."}
  };
  var lang = (SZ.language === "zh") ? "zh" : "en";
  var b = SZ.bounds, bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
  var map = L.map("map", {crs: L.CRS.EPSG4326, preferCanvas: true, minZoom: 1, maxZoom: 14,
                          attributionControl: true});
  map.fitBounds(bounds);
  map.attributionControl.setPrefix("Leaflet");
  var current = null, currentId = null, bLayers = {};
  var byId = {};
  SZ.layers.forEach(function (l) { byId[l.id] = l; });

  function t(k) { return T[lang][k] || k; }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]; }); }
  function title(l) { return lang === "zh" ? l.title_zh : l.title_en; }
  function fmt(x) { return (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3)); }

  function rasterLayer(id) {
    if (LIVE) {
      return L.tileLayer(LIVE.tiles.replace("{layer}", id), {bounds: bounds, tileSize: 256,
        opacity: 0.85, maxZoom: 14, attribution: "sinkzone " + esc(SZ.run)});
    }
    return L.imageOverlay(SZ.images[id], bounds, {opacity: 0.85, attribution: "sinkzone " + esc(SZ.run)});
  }
  function setLayer(id) {
    if (current) { map.removeLayer(current); current = null; }
    currentId = id;
    if (id && byId[id]) { current = rasterLayer(id).addTo(map); current.bringToBack(); }
    drawLegend();
  }
  function drawLayers() {
    var el = document.getElementById("layers"), html = "", group = null;
    html += '<label><input type="radio" name="layer" id="layer-none" value=""> ' + t("none") + "</label>";
    SZ.layers.forEach(function (l) {
      if (l.group !== group) { group = l.group; html += '<div class="group">' + t(group) + "</div>"; }
      html += '<label title="' + esc(title(l)) + '"><input type="radio" name="layer" id="layer-' + l.id +
        '" value="' + l.id + '"' + (l.id === currentId ? " checked" : "") + "> " + esc(title(l)) + "</label>";
    });
    el.innerHTML = html;
    if (!currentId) document.getElementById("layer-none").checked = true;
    el.querySelectorAll("input").forEach(function (i) {
      i.addEventListener("change", function () { setLayer(i.value); });
    });
  }
  function drawLegend() {
    var el = document.getElementById("legend"), l = byId[currentId];
    if (!l) { el.innerHTML = ""; return; }
    var html = "<b>" + esc(title(l)) + "</b>" + (l.unit ? " (" + esc(l.unit) + ")" : "") + "<br>";
    if (l.kind === "categorical") {
      l.classes.forEach(function (c) {
        html += '<div><span class="sw" style="background:' + c.color + '"></span>' + esc(c[lang]) + "</div>";
      });
    } else {
      html += '<div class="ramp" style="background:linear-gradient(to right,' + l.colors.join(",") + ')"></div>' +
        '<div class="ramp-labels"><span>' + fmt(l.vmin) + "</span><span>" + fmt(l.vmax) + "+</span></div>";
    }
    el.innerHTML = html;
  }
  var WORDS = {zh: {technical: "技术", potential: "潜力", realistic: "现实", mapped: "制图",
                    allocated: "分配", existing: "现有", sink: "碳汇", low: "低", central: "中",
                    high: "高"}};
  function colLabel(c) {
    var words = c.replace(/_tco2_yr$/, "").split("_");
    if (lang !== "zh") return words.join(" ");
    return words.map(function (w) { return WORDS.zh[w] || w; }).join("");
  }
  function tooltip(p) {
    var name = lang === "zh" ? p.name_zh : p.name_en;
    var html = '<table class="tt"><tr><th colspan="2">' + esc(name) + " (" + p.code + ")</th></tr>";
    Object.keys(p).forEach(function (k) {
      if (/central.*_tco2_yr$/.test(k)) html += "<tr><td>" + esc(colLabel(k)) + '</td><td class="num">' + fmt(p[k]) + " " + t("mt") + "</td></tr>";
    });
    if (p.top && p.top.length) {
      html += '<tr><td colspan="2" class="top"><i>' + t("top") + ":</i> " + p.top.map(function (m) {
        return esc(lang === "zh" ? m[2] : m[1]) + " " + fmt(m[3]); }).join("; ") + "</td></tr>";
    }
    return html + "</table>";
  }
  var styles = {province: {color: "#333", weight: 1.2}, prefecture: {color: "#666", weight: 0.8},
                county: {color: "#999", weight: 0.5}};
  function boundaryLayer(level) {
    var s = styles[level];
    return L.geoJSON(SZ.boundaries[level], {
      style: function () { return {color: s.color, weight: s.weight, fill: true, fillOpacity: 0, opacity: 0.9}; },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(function () { return tooltip(f.properties); }, {sticky: true});
      }
    });
  }
  function drawBounds() {
    var el = document.getElementById("bounds"), html = "";
    ["province", "prefecture", "county"].forEach(function (lv) {
      if (!SZ.boundaries[lv]) return;
      html += '<label><input type="checkbox" id="bnd-' + lv + '"' + (map.hasLayer(bLayers[lv]) ? " checked" : "") +
        "> " + t(lv) + " (" + SZ.boundaries[lv].features.length + ")</label>";
    });
    el.innerHTML = html;
    ["province", "prefecture", "county"].forEach(function (lv) {
      var i = document.getElementById("bnd-" + lv);
      if (i) i.addEventListener("change", function () {
        if (i.checked) bLayers[lv].addTo(map); else map.removeLayer(bLayers[lv]);
      });
    });
  }
  function explainHtml(d) {
    var nm = lang === "zh" ? "name_zh" : "name_en";
    var html = "<b>" + t("cell") + "</b> " + d.lon.toFixed(4) + ", " + d.lat.toFixed(4) +
      " (" + d.cell_area_ha.toFixed(1) + " ha)<br>";
    var L_ = d.layers || {};
    ["province", "county", "landcover", "ecosystem", "climate", "elevation", "steep25", "precip",
     "zones", "red_line"].forEach(function (k) {
      if (!L_[k]) return;
      var nmv = L_[k][nm];  // names next to codes (sinkzone explain), when the run has them
      html += esc(k) + ": " + esc(L_[k].value) + (nmv && nmv !== L_[k].value ? " (" + esc(nmv) + ")" : "") + "<br>";
    });
    var prim = d.measures.filter(function (m) { return m.id === d.primary; })[0];
    html += "<b>" + t("primary") + ":</b> " + (prim ? esc(prim[nm]) + " (" + esc(prim.id) + ")" : "-") + "<br>";
    var p = d.potential_tco2_yr;
    html += t("potential") + ": " + fmt(p.low) + " / " + fmt(p.central) + " / " + fmt(p.high);
    var el = d.measures.filter(function (m) { return m.status === "eligible"; });
    html += "<h3>" + t("eligible") + " (" + el.length + ")</h3><ul id='explain-eligible'>";
    el.forEach(function (m) {
      html += '<li class="eligible" data-measure="' + esc(m.id) + '">' + esc(m[nm]) + " (" + esc(m.id) + "): " +
        t("share") + " " + (m.share_permille / 10).toFixed(1) + "%, " + t("allocated") + " " +
        (m.allocated_permille / 10).toFixed(1) + "%</li>";
    });
    html += "</ul>";
    var ne = d.measures.filter(function (m) { return m.status === "not eligible"; });
    html += "<details><summary>" + t("noteligible") + " (" + ne.length + ")</summary><ul>";
    ne.forEach(function (m) {
      html += '<li class="not-eligible" data-measure="' + esc(m.id) + '">' + esc(m[nm]) + " (" + esc(m.id) + ")";
      (m.failed || []).forEach(function (f) {
        html += '<div class="fail">' + t("fails") + ": " + esc(f.condition) + " (" + t("actual") + " " + esc(f.actual) + ")</div>"; });
      (m.removed_by || []).forEach(function (c) {
        html += '<div class="fail">' + t("removed") + " " + esc(c.id) + ": " + esc(c.description) + "</div>"; });
      html += "</li>";
    });
    html += "</ul></details>";
    var nmap = d.measures.filter(function (m) { return m.status === "not mapped"; });
    html += "<details><summary>" + t("notmapped") + " (" + nmap.length + ")</summary><ul>";
    nmap.forEach(function (m) { html += "<li>" + esc(m[nm]) + ": " + esc(m.reason || "") + "</li>"; });
    return html + "</ul></details>";
  }
  var lastClick = null;
  function showExplain(latlng) {
    lastClick = latlng;
    var panel = document.getElementById("explain"), body = document.getElementById("explain-body");
    panel.classList.remove("hidden");
    if (!LIVE) { body.innerHTML = "<b>" + t("cell") + "</b> " + latlng.lng.toFixed(4) + ", " +
      latlng.lat.toFixed(4) + "<p>" + t("static") + "</p>"; return; }
    body.innerHTML = t("loading");
    panel.setAttribute("data-state", "loading");
    var url = LIVE.explain + "?lon=" + latlng.lng.toFixed(6) + "&lat=" + latlng.lat.toFixed(6) + "&lang=" + lang;
    fetch(url).then(function (r) { return r.json(); }).then(function (d) {
      if (d.error) { body.innerHTML = "<b>" + t("outside") + "</b><p>" + esc(d.error) + "</p>"; }
      else { body.innerHTML = explainHtml(d); }
      panel.setAttribute("data-state", d.error ? "error" : "done");
    });
  }
  map.on("click", function (e) { showExplain(e.latlng); });
  document.getElementById("explain-close").addEventListener("click", function () {
    document.getElementById("explain").classList.add("hidden"); });
  function applyLang() {
    document.documentElement.lang = lang;
    document.getElementById("lang").value = lang;
    document.querySelectorAll("[data-i18n]").forEach(function (e) { e.textContent = t(e.getAttribute("data-i18n")); });
    document.getElementById("title").textContent = "sinkzone: " + SZ.run + (LIVE ? "" : " (static)");
    drawLayers(); drawLegend(); drawBounds();
    if (lastClick && LIVE && !document.getElementById("explain").classList.contains("hidden")) showExplain(lastClick);
  }
  document.getElementById("lang").addEventListener("change", function (e) { lang = e.target.value; applyLang(); });
  document.getElementById("credits").innerHTML = SZ.credits.map(esc).join("<br>");
  ["province", "prefecture", "county"].forEach(function (lv) {
    if (SZ.boundaries[lv]) bLayers[lv] = boundaryLayer(lv);
  });
  if (bLayers.province) bLayers.province.addTo(map);
  setLayer(byId.primary ? "primary" : (SZ.layers[0] || {}).id);
  applyLang();
  window.SZ_MAP = map;
})();
