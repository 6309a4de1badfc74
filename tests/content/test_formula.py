from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from content.document import Calculator
from content.formula import FormulaError, evaluate, run_calculator
from content.offline import generate_from
from content.render.html import format_value

FORMULA_JS = Path(__file__).resolve().parents[2] / "content" / "templates" / "_base" / "formula.js"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.mark.parametrize(("expr", "env", "want"), [
    ("1 + 2 * 3", {}, 7), ("(1 + 2) * 3", {}, 9), ("-2^2", {}, -4), ("2^3^2", {}, 512),
    ("10 / 4", {}, 2.5), ("7 % -3", {}, 1), ("-7 % 3", {}, -1), ("round(2.5)", {}, 3), ("round(-2.5)", {}, -3),
    ("round(1.23456, 2)", {}, 1.23), ("min(3, a, 9)", {"a": 1}, 1), ("max(1, 2)", {}, 2),
    ("if(b == 0, 0, a / b)", {"a": 1, "b": 0}, 0), ("a >= b", {"a": 2, "b": 2}, 1), ("sqrt(16) + abs(-1)", {}, 5),
    ("floor(2.7) + ceil(2.1)", {}, 5), ("1.5e3", {}, 1500), (".5", {}, 0.5),
])
def test_known_results(expr: str, env: dict[str, float], want: float) -> None:
    assert evaluate(expr, env) == want


@pytest.mark.parametrize(("expr", "message"), [
    ("1/0", "division by zero"), ("5 % 0", "division by zero"), ("10^400", "too large"),
    ("1e308 * 10", "too large"), ("(-8)^(1/3)", "not a real number"), ("sqrt(-1)", "negative"),
    ("__import__('os')", "unexpected character"), ("__import__(1)", "unknown function '__import__'"),
    ("x + 1", "unknown name 'x'"), ("(" * 10_000 + "1" + ")" * 10_000, "the limit is 500"),
    ("(" * 60 + "1" + ")" * 60, "nested more than 40"), ("-" * 100 + "1", "nested more than 40"),
    ("1 +", "ends too early"), ("1 2", "unexpected '2'"), ("round(1, 2, 3)", "takes 1 to 2 arguments"),
    ("", "empty"), ("a.b", "unexpected"), ("round(1, 0.5)", "0 to 10 digits"),
])
def test_errors_are_value_errors_with_a_message(expr: str, message: str) -> None:
    with pytest.raises(FormulaError) as err:
        evaluate(expr, {})
    assert isinstance(err.value, ValueError)
    assert message in str(err.value)


def test_calculator_runs_with_bad_inputs_without_crashing() -> None:
    doc = generate_from("calculator", "ROI of reminders", "health")
    calc = doc.calculator
    assert calc is not None
    good = run_calculator(calc)
    assert all(isinstance(v, float) for v in good.values())
    # 900 appointments x 12% x 140 = 15,120 lost per month (the calculator's default inputs)
    assert good["lost"] == pytest.approx(15120)
    bad = run_calculator(calc, {"noshow": "abc", "appointments": -5})
    assert "not a number" in str(bad["noshow"]) and "at least 0" in str(bad["appointments"])
    assert isinstance(bad["lost"], FormulaError) and isinstance(bad["saved"], FormulaError)


def test_mortgage_payment_matches_the_annuity_formula() -> None:
    calc = generate_from("calculator", "Buying a rental", "real-estate").calculator
    assert calc is not None
    r = run_calculator(calc, {"price": 400000, "down": 20, "rate": 6, "years": 30})
    # standard amortised payment: 320,000 at 0.5% a month over 360 months = 1,918.56
    assert r["payment"] == pytest.approx(1918.56, abs=0.01)


# ---- the browser implementation gives the same numbers and errors --------------------------

NAMES = ["a", "b", "c"]


def _random_expr(rng: random.Random, depth: int = 0) -> str:
    if depth > 3 or rng.random() < 0.25:
        return rng.choice([*NAMES, str(rng.randint(0, 20)), f"{rng.uniform(0, 10):.3f}"])
    kind = rng.random()
    a, b = _random_expr(rng, depth + 1), _random_expr(rng, depth + 1)
    if kind < 0.55:
        return f"({a} {rng.choice(['+', '-', '*', '/', '%', '^', '<', '>=', '=='])} {b})"
    if kind < 0.65:
        return f"-{a}"
    fn = rng.choice(["min", "max", "abs", "round", "floor", "ceil", "sqrt", "if"])
    if fn in ("min", "max"):
        return f"{fn}({a}, {b})"
    if fn == "round":
        return f"round({a}, {rng.randint(0, 3)})"
    if fn == "if":
        return f"if({a}, {b}, {_random_expr(rng, depth + 1)})"
    return f"{fn}({a})"


def _py(expr: str, env: dict[str, float]) -> Any:
    try:
        return evaluate(expr, env)
    except FormulaError as exc:
        return {"error": str(exc)}


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
        pg = browser.new_page()
        pg.set_content(f"<script>{FORMULA_JS.read_text()}</script>")
        yield pg
        browser.close()


@pytest.mark.browser
def test_python_and_chromium_agree_on_random_formulas(page: Any) -> None:
    rng = random.Random(20261202)
    cases = []
    for _ in range(400):
        env = {n: rng.choice([0.0, 1.0, -1.0, round(rng.uniform(-1000, 1000), 3), rng.uniform(-5, 5)]) for n in NAMES}
        cases.append((_random_expr(rng), env))
    cases += [("1/0", {}), ("(" * 10_000 + "1" + ")" * 10_000, {}), ("__import__('os')", {}), ("10^400", {})]
    js = page.evaluate("""(cases) => cases.map(([e, env]) => {
        try { return LodestoneFormula.evaluate(e, env); } catch (x) { return {error: x.message}; } })""", cases)
    errors = 0
    for (expr, env), got in zip(cases, js, strict=True):
        want = _py(expr, env)
        if isinstance(want, dict):
            errors += 1
            assert got == want, (expr, env)
        else:
            assert isinstance(got, int | float), (expr, env, got)
            assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12), (expr, env, got, want)
    assert 10 < errors < len(cases) - 100  # the sample exercises both paths


@pytest.mark.browser
def test_calculator_pages_show_the_python_results(page: Any, tmp_path: Path) -> None:
    from content.build import build

    for industry in ("saas", "real-estate"):
        doc = generate_from("calculator", "What it is worth", industry)
        calc: Calculator = doc.calculator  # type: ignore[assignment]
        html = build(doc).artifacts[0].data.decode()
        page.set_content(html)
        values = {i.name: min(i.max if i.max is not None else math.inf, round(i.default * 1.1 + 1, 2))
                  for i in calc.inputs}
        for name, value in values.items():
            page.fill(f"#in-{name}", repr(value))
        want = run_calculator(calc, values)
        for o in calc.outputs:
            shown = page.text_content(f"#out-{o.name}")
            w = want[o.name]
            assert not isinstance(w, FormulaError)
            assert shown == format_value(w, o.format, o.decimals, calc.currency), o.name
        # a bad input shows its error on the page and the results that need it say so
        page.fill(f"#in-{calc.inputs[0].name}", "-1e9")
        assert "must be at least" in (page.text_content(f"#err-{calc.inputs[0].name}") or "")
        answers = json.loads(page.input_value("#optin-answers"))
        assert set(answers["inputs"]) == {i.name for i in calc.inputs}
