"use strict";
(function () {
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  const headers = {};
  const tok = sessionStorage.getItem("critmin-token");
  if (tok) headers.Authorization = "Bearer " + tok;
  fetch("/api/v1/openapi.json", { headers }).then(r => r.json()).then(spec => {
    document.getElementById("version").textContent = spec.info.version;
    const box = document.getElementById("endpoints");
    box.textContent = "";
    const table = el("table");
    const head = el("tr");
    ["method", "path", "what", "parameters"].forEach(h => head.appendChild(el("th", h)));
    table.appendChild(head);
    Object.entries(spec.paths).forEach(([path, ops]) => {
      Object.entries(ops).forEach(([method, op]) => {
        const tr = el("tr");
        tr.appendChild(el("td", method.toUpperCase(), "method"));
        tr.appendChild(el("td", path, "path"));
        tr.appendChild(el("td", op.summary || ""));
        const params = (op.parameters || []).map(p => p.name + (p.required ? "*" : "")).join(", ");
        const body = op.requestBody ? "JSON body" : "";
        tr.appendChild(el("td", [params, body].filter(Boolean).join("; ")));
        table.appendChild(tr);
      });
    });
    box.appendChild(table);
    const pre = el("pre");
    pre.textContent = JSON.stringify(spec.components || {}, null, 2).slice(0, 20000);
    const det = el("details");
    det.appendChild(el("summary", "Request and response schemas"));
    det.appendChild(pre);
    box.appendChild(det);
  }).catch(err => { document.getElementById("endpoints").textContent = "could not read openapi.json: " + err; });
})();
