# Lodestone — `make up` runs the product, `make test` runs the suite, `make bench` the benchmarks.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .uv/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DAGSTER_DISABLE_TELEMETRY := 1
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false

.PHONY: up test bench install lint typecheck pytest clean previews

$(UV):
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Installs exactly what uv.lock pins (runtime + dev group); --frozen refuses a stale lock.
# --compile-bytecode: every process (servers, CLI, test subprocesses) starts from .pyc files
# even where PYTHONDONTWRITEBYTECODE is set; without it `lodestone seed` spent 7 s compiling.
install: $(UV)
	$(UV) sync --frozen --python $(PYTHON) --quiet --compile-bytecode

up: install
	$(VENV)/bin/lodestone up

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

# Node packages the tests use (package-lock.json: axe-core, the landing page's accessibility
# check in Chromium); skipped where npm is missing, and that test then says so.
node_modules/.package-lock.json: package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --silent; fi

pytest: install node_modules/.package-lock.json
	$(VENV)/bin/pytest -q -p no:cacheprovider

test: install lint typecheck pytest

bench: install
	$(VENV)/bin/python -m benchmarks

# Page 1 of every template as PNG, plus previews/contact-sheet.png (needs poppler-utils).
previews: install
	$(VENV)/bin/python -m content.previews --out previews

clean:
	rm -rf .lodestone .mypy_cache .ruff_cache .pytest_cache
