# Calltrack: `make run` serves the product locally; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT      ?= 8000
MOTO_PORT ?= 5000
DEMO_PORT ?= 8001
export PORT MOTO_PORT DEMO_PORT

.PHONY: install snippet browser-deps run test test-fast bench package lint-template clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# The website snippet: minified dni.js + widget in snippet/dist (size budget checked).
snippet:
	@if [ -f snippet/package.json ]; then cd snippet && npm ci --silent --no-audit --no-fund && npm run --silent build; fi

# Debian's Chromium + ChromeDriver for the browser tests (root, or sudo).
browser-deps:
	@bash scripts/install-browser.sh

run: install snippet
	$(BIN)/python scripts/run_local.py

test: install snippet browser-deps
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not browser"

bench: install snippet
	$(BIN)/python -m bench

package: install
	bash scripts/package.sh out

clean:
	rm -rf $(VENV) out build snippet/dist snippet/node_modules .run
