# Shellac: the two quick-start commands are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo demo-data test test-all lint system-deps clean-demo

setup: $(STAMP)

# torch is installed first, pinned, so nothing later resolves a CUDA build.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check torch==2.13.0
	$(PIP) install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# Debian packages: fluidsynth and the FluidR3 GM soundfont render the demo's scores;
# mediainfo is the independent reader the tag tests check files with; chromium renders
# the HTML report in its test.
system-deps:
	@command -v fluidsynth >/dev/null && command -v mediainfo >/dev/null && command -v chromium >/dev/null \
	  && test -f /usr/share/sounds/sf2/FluidR3_GM.sf2 || \
	  { apt-get update -qq && apt-get install -y -qq fluidsynth fluid-soundfont-gm mediainfo chromium; }

demo-data: setup system-deps
	$(PY) scripts/make_demo.py --out catalogs/demo

demo: demo-data
	$(VENV)/bin/shellac run catalogs/demo
	$(VENV)/bin/shellac status catalogs/demo

lint: setup
	$(VENV)/bin/ruff check shellac tests scripts
	$(VENV)/bin/lint-imports

# pytest exits 5 when it collects no tests: that is a broken suite, never a pass.
test: setup system-deps lint
	$(PY) -m pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# Everything, slow tests included (not GPU tests).
test-all: setup system-deps
	$(PY) -m pytest -q -m "not gpu"

clean-demo:
	rm -rf output/demo
