(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("calc-spec").textContent);
  var form = document.getElementById("calc-form");
  var currency = spec.currency || "USD";
  function fmt(value, o) {
    var d = o.decimals || 0;
    switch (o.format) {
      case "currency": return new Intl.NumberFormat("en", { style: "currency", currency: currency, minimumFractionDigits: d, maximumFractionDigits: d }).format(value);
      case "percent": return new Intl.NumberFormat("en", { minimumFractionDigits: d, maximumFractionDigits: d }).format(value) + "%";
      case "months": return new Intl.NumberFormat("en", { minimumFractionDigits: d, maximumFractionDigits: d }).format(value) + " months";
      case "integer": return new Intl.NumberFormat("en", { maximumFractionDigits: 0 }).format(value);
      default: return new Intl.NumberFormat("en", { minimumFractionDigits: d, maximumFractionDigits: d }).format(value);
    }
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
