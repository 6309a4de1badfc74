/* The formula language of content/formula.py, in the browser: same grammar, same errors, same numbers. */
var LodestoneFormula = (function () {
  "use strict";
  var MAX_LENGTH = 500, MAX_DEPTH = 40;
  var FUNCS = { min: [1, 20], max: [1, 20], abs: [1, 1], round: [1, 2], floor: [1, 1], ceil: [1, 1], sqrt: [1, 1], "if": [3, 3] };
  var TOKEN = /\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(<=|>=|==|!=|[-+*/%^(),<>]))/y;
  function FormulaError(message) { this.message = message; }
  FormulaError.prototype.toString = function () { return this.message; };
  function q(s) { return "'" + s + "'"; }

  function parse(src) {
    if (typeof src !== "string" || !src.trim()) throw new FormulaError("the formula is empty");
    if (src.length > MAX_LENGTH) throw new FormulaError("the formula is " + src.length + " characters long; the limit is " + MAX_LENGTH);
    var text = src.replace(/\s+$/, ""), toks = [], pos = 0, m;
    while (pos < text.length) {
      TOKEN.lastIndex = pos; m = TOKEN.exec(text);
      if (!m) throw new FormulaError("unexpected character " + q(text.slice(pos).replace(/^\s+/, "").charAt(0)) + " at position " + (pos + 1));
      toks.push(m[1] !== undefined ? ["num", m[1]] : m[2] !== undefined ? ["name", m[2]] : ["op", m[3]]);
      pos = TOKEN.lastIndex;
    }
    var i = 0, depth = 0;
    function err(msg) { return new FormulaError(msg + " in " + q(src)); }
    function peek() { return i < toks.length ? toks[i][1] : null; }
    function take() { if (i >= toks.length) throw err("the formula ends too early"); return toks[i++]; }
    function nested() { if (++depth > MAX_DEPTH) throw err("the formula is nested more than " + MAX_DEPTH + " levels deep"); }
    function expect(op) { var t = take(); if (t[0] !== "op" || t[1] !== op) throw err("expected " + q(op) + " but found " + q(t[1])); }
    function compare() { var l = sum(), p = peek(); if (["<", "<=", ">", ">=", "==", "!="].indexOf(p) >= 0) { take(); l = ["bin", p, l, sum()]; } return l; }
    function sum() { var l = product(); while (peek() === "+" || peek() === "-") { var op = take()[1]; l = ["bin", op, l, product()]; } return l; }
    function product() { var l = unary(); while (peek() === "*" || peek() === "/" || peek() === "%") { var op = take()[1]; l = ["bin", op, l, unary()]; } return l; }
    function unary() {
      if (peek() === "-" || peek() === "+") { var op = take()[1]; nested(); var o = unary(); depth--; return op === "-" ? ["neg", o] : o; }
      return power();
    }
    function power() { var b = atom(); if (peek() === "^") { take(); nested(); var e = unary(); depth--; return ["bin", "^", b, e]; } return b; }
    function atom() {
      var t = take();
      if (t[0] === "num") { var n = parseFloat(t[1]); if (!isFinite(n)) throw err("the number " + t[1] + " is too large"); return ["num", n]; }
      if (t[0] === "name") {
        if (peek() !== "(") return ["name", t[1]];
        if (!Object.prototype.hasOwnProperty.call(FUNCS, t[1])) throw err("unknown function " + q(t[1]) + " (known: " + Object.keys(FUNCS).join(", ") + ")");
        take(); nested();
        var args = [compare()];
        while (peek() === ",") { take(); args.push(compare()); }
        expect(")"); depth--;
        var r = FUNCS[t[1]];
        if (args.length < r[0] || args.length > r[1]) throw err(t[1] + "() takes " + (r[0] === r[1] ? r[0] : r[0] + " to " + r[1]) + " arguments, not " + args.length);
        return ["call", t[1], args];
      }
      if (t[1] === "(") { nested(); var node = compare(); expect(")"); depth--; return node; }
      throw err("unexpected " + q(t[1]));
    }
    var tree = compare();
    if (i !== toks.length) throw err("unexpected " + q(peek()));
    return tree;
  }

  function names(node, out) {
    out = out || {};
    if (node[0] === "name") out[node[1]] = 1;
    else if (node[0] === "neg") names(node[1], out);
    else if (node[0] === "bin") { names(node[2], out); names(node[3], out); }
    else if (node[0] === "call") node[2].forEach(function (a) { names(a, out); });
    return out;
  }
  function finite(x, src) { if (!isFinite(x)) throw new FormulaError("the result of " + q(src) + " is too large to show"); return x; }
  function ev(node, env, src) {
    switch (node[0]) {
      case "num": return node[1];
      case "name":
        if (!Object.prototype.hasOwnProperty.call(env, node[1])) throw new FormulaError("unknown name " + q(node[1]) + " in " + q(src));
        return env[node[1]];
      case "neg": return -ev(node[1], env, src);
      case "bin":
        var op = node[1], a = ev(node[2], env, src), b = ev(node[3], env, src);
        if (((op === "/" || op === "%") && b === 0) || (op === "^" && a === 0 && b < 0)) throw new FormulaError("division by zero in " + q(src));
        switch (op) {
          case "+": return finite(a + b, src); case "-": return finite(a - b, src); case "*": return finite(a * b, src);
          case "/": return finite(a / b, src); case "%": return a % b;
          case "^":
            var p = Math.pow(a, b);
            if (isNaN(p)) throw new FormulaError(q(src) + " is not a real number (a negative base with a fractional exponent?)");
            return finite(p, src);
          case "<": return a < b ? 1 : 0; case "<=": return a <= b ? 1 : 0; case ">": return a > b ? 1 : 0;
          case ">=": return a >= b ? 1 : 0; case "==": return a === b ? 1 : 0; case "!=": return a !== b ? 1 : 0;
        }
    }
    var name = node[1], args = node[2];
    if (name === "if") return ev(ev(args[0], env, src) !== 0 ? args[1] : args[2], env, src);
    var v = args.map(function (x) { return ev(x, env, src); });
    switch (name) {
      case "min": return Math.min.apply(null, v);
      case "max": return Math.max.apply(null, v);
      case "abs": return Math.abs(v[0]);
      case "floor": return Math.floor(v[0]);
      case "ceil": return Math.ceil(v[0]);
      case "sqrt": if (v[0] < 0) throw new FormulaError("square root of a negative number in " + q(src)); return Math.sqrt(v[0]);
      default:
        var d = v.length > 1 ? v[1] : 0;
        if (d !== Math.floor(d) || d < 0 || d > 10) throw new FormulaError("round() takes 0 to 10 digits in " + q(src));
        var s = Math.pow(10, d), r = Math.floor(Math.abs(v[0]) * s + 0.5) / s;
        return v[0] < 0 || (v[0] === 0 && 1 / v[0] < 0) ? -r : r;
    }
  }
  function evaluate(src, env) { return ev(parse(src), env || {}, src); }

  /* Every input, formula and output of a calculator: numbers, or FormulaError for what cannot be computed. */
  function run(calc, values) {
    var env = {}, out = {};
    calc.inputs.forEach(function (inp) {
      var raw = Object.prototype.hasOwnProperty.call(values, inp.name) ? values[inp.name] : inp["default"];
      var n = typeof raw === "number" ? raw : (String(raw).trim() === "" ? NaN : Number(raw));
      if (isNaN(n)) out[inp.name] = new FormulaError(inp.label + ": " + JSON.stringify(String(raw)) + " is not a number");
      else if (!isFinite(n)) out[inp.name] = new FormulaError(inp.label + ": the number is too large");
      else if (inp.min !== null && inp.min !== undefined && n < inp.min) out[inp.name] = new FormulaError(inp.label + " must be at least " + inp.min);
      else if (inp.max !== null && inp.max !== undefined && n > inp.max) out[inp.name] = new FormulaError(inp.label + " must be at most " + inp.max);
      else { env[inp.name] = n; out[inp.name] = n; }
    });
    calc.formulas.concat(calc.outputs).forEach(function (item) {
      var tree;
      try { tree = parse(item.expression); } catch (e) { out[item.name] = e; return; }
      var broken = Object.keys(names(tree)).filter(function (n) { return out[n] instanceof FormulaError; }).sort();
      if (broken.length) { out[item.name] = new FormulaError("needs a valid " + broken[0]); return; }
      try { env[item.name] = out[item.name] = ev(tree, env, item.expression); }
      catch (e) { if (e instanceof FormulaError) out[item.name] = e; else throw e; }
    });
    return out;
  }
  return { parse: parse, evaluate: evaluate, run: run, FormulaError: FormulaError };
})();
