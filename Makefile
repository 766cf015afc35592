# dvcflow — the two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install lock browser demo test test-fast lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Refresh constraints.txt: newest versions allowed by pyproject.toml, in a throw-away venv.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
	{ echo "# Known-good versions for make demo / make test / .ci/run / docker (pip install -c)."; \
	  echo "# Refresh after changing dependencies in pyproject.toml: make lock"; \
	  .lock-venv/bin/pip freeze --exclude-editable --disable-pip-version-check; } > constraints.txt
	rm -rf .lock-venv

# Debian's Chromium and ChromeDriver for the browser tests (the tests never download one).
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

demo: install
	$(BIN)/dvcflow demo

test: install browser
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2 --dist loadgroup -q -p no:cacheprovider

test-fast: install
	$(BIN)/pytest -q -m "not e2e and not slow"

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache
