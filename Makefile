# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXAMPLE := examples/harmone-example-plugin
EXAMPLE_STAMP := $(VENV)/.example-plugin

.PHONY: setup demo test bench clean browser

setup: $(STAMP)

# Re-install only when the dependency list changes; quick when already set up.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,cluster]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/harmone demo
	@echo
	@echo "Watch and steer the demo workspace in a browser:"
	@echo "  $(BIN)/harmone dashboard -w harmone-demo    # then open the link it prints"

# The browser tests drive Debian's Chromium (a browser download of the test tool cannot work
# here); installed when missing and we are root, else they skip with a one-line reason.
browser:
	@command -v chromium >/dev/null 2>&1 || test -x /usr/bin/chromium || \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "make: Debian's chromium is missing (apt-get install chromium); the browser tests will skip"; fi

# The example plugin package (docs/plugins.md), installed beside HarmonE so the suite tests it.
$(EXAMPLE_STAMP): $(STAMP) $(EXAMPLE)/pyproject.toml
	$(BIN)/python -m pip install --quiet --no-deps -e $(EXAMPLE)
	touch $(EXAMPLE_STAMP)

test: $(STAMP) $(EXAMPLE_STAMP) browser
	$(BIN)/python -m pyflakes src tests benchmarks
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) harmone-demo build src/*.egg-info $(EXAMPLE)/src/*.egg-info
