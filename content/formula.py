"""Calculator formulas: a small arithmetic language parsed by hand and evaluated safely.

Never ``eval``: a formula is tokenized and parsed by a recursive-descent parser into tuples,
and only the operations below exist. The calculator page runs the same grammar in
``content/templates/_shared/formula.js`` (tested against this module in headless Chromium
with random inputs), so the browser and the server give the same numbers.

Grammar (lowest precedence first)::

    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?     -> 1 or 0
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/" | "%") unary)*                      % is fmod (sign of the dividend)
    unary   := ("-" | "+") unary | power
    power   := atom ("^" unary)?                                      right-assoc, -2^2 = -4
    atom    := number | name | name "(" args ")" | "(" compare ")"

Functions: ``min max abs round(x[, digits]) floor ceil sqrt if(cond, then, else)``; ``if`` is
lazy, so ``if(b == 0, 0, a / b)`` never divides by zero. ``round`` is half away from zero.
Every intermediate result must be a finite number: division by zero, overflow and
``sqrt(-1)`` raise :class:`FormulaError` with a message that names the formula.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from content.document import Calculator

MAX_LENGTH = 500
MAX_DEPTH = 40
FUNCTIONS = {"min": (1, 20), "max": (1, 20), "abs": (1, 1), "round": (1, 2), "floor": (1, 1),
             "ceil": (1, 1), "sqrt": (1, 1), "if": (3, 3)}
_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)"
                    r"|(<=|>=|==|!=|[-+*/%^(),<>]))")
Node = tuple[Any, ...]


class FormulaError(ValueError):
    """A formula that cannot be parsed or evaluated; ``str()`` says what and where."""

    def __init__(self, message: str, expression: str = "") -> None:
        super().__init__(message)
        self.expression = expression


def parse(expression: str) -> Node:
    """Parse ``expression`` into a tree of tuples, or raise :class:`FormulaError`."""
    if not isinstance(expression, str) or not expression.strip():
        raise FormulaError("the formula is empty", str(expression))
    if len(expression) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(expression)} characters long; the limit is {MAX_LENGTH}",
                           expression[:80])
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = expression.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            bad = text[pos:].lstrip()[:1]
            raise FormulaError(f"unexpected character '{bad}' at position {pos + 1}", expression)
        num, name, op = m.groups()
        tokens.append(("num", num) if num else ("name", name) if name else ("op", op))
        pos = m.end()
    return _Parser(tokens, expression).run()


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], source: str) -> None:
        self.tokens, self.source, self.i, self.depth = tokens, source, 0, 0

    def error(self, message: str) -> FormulaError:
        return FormulaError(f"{message} in '{self.source}'", self.source)

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise self.error("the formula ends too early")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expect(self, op: str) -> None:
        kind, value = self.take()
        if kind != "op" or value != op:
            raise self.error(f"expected '{op}' but found '{value}'")

    def run(self) -> Node:
        node = self.compare()
        if self.i != len(self.tokens):
            raise self.error(f"unexpected '{self.peek()}'")
        return node

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the formula is nested more than {MAX_DEPTH} levels deep")

    def compare(self) -> Node:
        left = self.sum()
        if self.peek() in ("<", "<=", ">", ">=", "==", "!="):
            op = self.take()[1]
            left = ("bin", op, left, self.sum())
        return left

    def sum(self) -> Node:
        left = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            left = ("bin", op, left, self.product())
        return left

    def product(self) -> Node:
        left = self.unary()
        while self.peek() in ("*", "/", "%"):
            op = self.take()[1]
            left = ("bin", op, left, self.unary())
        return left

    def unary(self) -> Node:
        if self.peek() in ("-", "+"):
            op = self.take()[1]
            self.nested()
            operand = self.unary()
            self.depth -= 1
            return ("neg", operand) if op == "-" else operand
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            self.nested()
            exponent = self.unary()
            self.depth -= 1
            return ("bin", "^", base, exponent)
        return base

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            number = float(value)
            if not math.isfinite(number):
                raise self.error(f"the number {value} is too large")
            return ("num", number)
        if kind == "name":
            if self.peek() != "(":
                return ("name", value)
            if value not in FUNCTIONS:
                raise self.error(f"unknown function '{value}' (known: {', '.join(FUNCTIONS)})")
            self.take()
            self.nested()
            args = [self.compare()]
            while self.peek() == ",":
                self.take()
                args.append(self.compare())
            self.expect(")")
            self.depth -= 1
            low, high = FUNCTIONS[value]
            if not low <= len(args) <= high:
                want = str(low) if low == high else f"{low} to {high}"
                raise self.error(f"{value}() takes {want} arguments, not {len(args)}")
            return ("call", value, args)
        if value == "(":
            self.nested()
            node = self.compare()
            self.expect(")")
            self.depth -= 1
            return node
        raise self.error(f"unexpected '{value}'")


def names(node: Node) -> set[str]:
    """Variable names a parsed formula reads."""
    if node[0] == "name":
        return {node[1]}
    if node[0] == "num":
        return set()
    if node[0] == "neg":
        return names(node[1])
    if node[0] == "bin":
        return names(node[2]) | names(node[3])
    return set().union(*(names(a) for a in node[2]))


def _finite(x: float, source: str) -> float:
    if not math.isfinite(x):
        raise FormulaError(f"the result of '{source}' is too large to show", source)
    return x


def _round(x: float, digits: float) -> float:
    if digits != int(digits) or not 0 <= digits <= 10:
        raise ValueError("round() takes 0 to 10 digits")
    scale = 10.0 ** int(digits)
    return math.copysign(math.floor(abs(x) * scale + 0.5) / scale, x)


_BIN: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "<": lambda a, b: float(a < b), "<=": lambda a, b: float(a <= b), ">": lambda a, b: float(a > b),
    ">=": lambda a, b: float(a >= b), "==": lambda a, b: float(a == b), "!=": lambda a, b: float(a != b),
}


def _evaluate(node: Node, env: Mapping[str, float], source: str) -> float:
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "name":
        if node[1] not in env:
            raise FormulaError(f"unknown name '{node[1]}' in '{source}'", source)
        return float(env[node[1]])
    if kind == "neg":
        return -_evaluate(node[1], env, source)
    if kind == "bin":
        op = node[1]
        a = _evaluate(node[2], env, source)
        b = _evaluate(node[3], env, source)
        if (op in ("/", "%") and b == 0) or (op == "^" and a == 0 and b < 0):
            raise FormulaError(f"division by zero in '{source}'", source)
        try:
            if op == "/":
                return _finite(a / b, source)
            if op == "%":
                return math.fmod(a, b)
            if op == "^":
                return _finite(math.pow(a, b), source)
        except OverflowError:
            raise FormulaError(f"the result of '{source}' is too large to show", source) from None
        except ValueError:
            raise FormulaError(f"'{source}' is not a real number (a negative base with a fractional "
                               "exponent?)", source) from None
        return _finite(_BIN[op](a, b), source)
    name, args = node[1], node[2]
    if name == "if":
        return _evaluate(args[1] if _evaluate(args[0], env, source) != 0 else args[2], env, source)
    vals = [_evaluate(a, env, source) for a in args]
    if name == "min":
        return min(vals)
    if name == "max":
        return max(vals)
    if name == "abs":
        return abs(vals[0])
    if name == "floor":
        return float(math.floor(vals[0]))
    if name == "ceil":
        return float(math.ceil(vals[0]))
    if name == "sqrt":
        if vals[0] < 0:
            raise FormulaError(f"square root of a negative number in '{source}'", source)
        return math.sqrt(vals[0])
    try:
        return _round(vals[0], vals[1] if len(vals) > 1 else 0)
    except ValueError as exc:
        raise FormulaError(f"{exc} in '{source}'", source) from None


def evaluate(expression: str, env: Mapping[str, float] | None = None) -> float:
    """Evaluate one formula over ``env`` (name -> number).

    Raises:
        FormulaError: syntax, unknown name/function, division by zero, non-finite result.
    """
    return _evaluate(parse(expression), env or {}, expression)


def check_calculator(calc: Calculator) -> None:
    """Parse every formula and output, and check that each reads only names defined before it."""
    known = {i.name for i in calc.inputs}
    items: list[tuple[str, str]] = [(f.name, f.expression) for f in calc.formulas]
    items += [(o.name, o.expression) for o in calc.outputs]
    for name, expression in items:
        tree = parse(expression)
        unknown = sorted(names(tree) - known)
        if unknown:
            raise FormulaError(f"{name} = '{expression}' reads {', '.join(unknown)}, which is "
                               f"not an input or an earlier formula (known: {', '.join(sorted(known))})",
                               expression)
        known.add(name)


def run_calculator(calc: Calculator, values: Mapping[str, Any] | None = None) -> dict[str, float | FormulaError]:
    """Every formula and output of ``calc`` for the given inputs (defaults for missing ones).

    An input that is not a number or lies outside its min/max, or a failing formula, gives a
    :class:`FormulaError` for that value and for everything computed from it; the rest is
    still computed, as on the calculator page.
    """
    values = values or {}
    env: dict[str, float] = {}
    out: dict[str, float | FormulaError] = {}
    for inp in calc.inputs:
        raw = values.get(inp.name, inp.default)
        try:
            number = float(raw)
        except (TypeError, ValueError):
            out[inp.name] = FormulaError(f"{inp.label}: '{raw}' is not a number")
            continue
        if not math.isfinite(number):
            out[inp.name] = FormulaError(f"{inp.label}: the number is too large")
        elif inp.min is not None and number < inp.min:
            out[inp.name] = FormulaError(f"{inp.label} must be at least {inp.min:g}")
        elif inp.max is not None and number > inp.max:
            out[inp.name] = FormulaError(f"{inp.label} must be at most {inp.max:g}")
        else:
            env[inp.name] = out[inp.name] = number
    items: list[tuple[str, str]] = [(f.name, f.expression) for f in calc.formulas]
    items += [(o.name, o.expression) for o in calc.outputs]
    for name, expression in items:
        tree = parse(expression)
        broken = sorted(n for n in names(tree) if isinstance(out.get(n), FormulaError))
        if broken:
            out[name] = FormulaError(f"needs a valid {broken[0]}")
            continue
        try:
            env[name] = out[name] = _evaluate(tree, env, expression)
        except FormulaError as exc:
            out[name] = exc
    return out
