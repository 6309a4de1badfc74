(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("calc-spec").textContent);
  var form = document.getElementById("calc-form");
  var currency = spec.currency || "USD";
  var SYMBOLS = { USD: "$", EUR: "\u20ac", GBP: "\u00a3" };
  /* Same output as content.render.html.format_value (Python), so the page reads the same before and after scripts. */
  function fmt(value, o) {
    var d = o.format === "integer" ? 0 : (o.decimals || 0);
    var text = new Intl.NumberFormat("en-US", { minimumFractionDigits: d, maximumFractionDigits: d, useGrouping: true }).format(Math.abs(value));
    var sign = value < 0 && text.replace(/[0.,]/g, "") !== "" ? "-" : "";
    if (o.format === "integer") return sign + text;
    if (o.format === "currency") return sign + (SYMBOLS[currency] || currency + " ") + text;
    return sign + text + (o.format === "percent" ? "%" : o.format === "months" ? " months" : "");
  }
  function values() {
    var v = {};
    spec.inputs.forEach(function (i) { v[i.name] = form.elements[i.name].value; });
    return v;
  }
  function update() {
    var v = values(), r = LodestoneFormula.run(spec, v), answers = { inputs: {}, results: {} };
    spec.inputs.forEach(function (i) {
      var e = r[i.name] instanceof LodestoneFormula.FormulaError ? r[i.name].message : "";
      document.getElementById("err-" + i.name).textContent = e;
      form.elements[i.name].setAttribute("aria-invalid", e ? "true" : "false");
      answers.inputs[i.name] = v[i.name];
    });
    spec.outputs.forEach(function (o) {
      var x = r[o.name], bad = x instanceof LodestoneFormula.FormulaError;
      document.getElementById("out-" + o.name).textContent = bad ? "—" : fmt(x, o);
      document.getElementById("err-" + o.name).textContent = bad ? x.message : "";
      answers.results[o.name] = bad ? null : x;
    });
    var hidden = document.getElementById("optin-answers");
    if (hidden) hidden.value = JSON.stringify(answers);
    window.lodestoneResults = r;
  }
  form.addEventListener("input", update);
  update();
})();
