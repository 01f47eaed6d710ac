VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
STAMP  := $(VENV)/.installed
DSTAMP := $(VENV)/.installed-dev
# extra options for the tools, e.g. make loadtest ARGS=--quick
ARGS   ?=
# make serve: this many serve.py replicas behind HAProxy (default: one per core)
REPLICAS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run serve test bench lint screenshot measure loadtest clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(DSTAMP): requirements.txt requirements-dev.txt $(STAMP)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(STAMP)
	$(VENV)/bin/streamlit run serve.py --server.port $(PORT) --server.headless true

# a class on one URL: REPLICAS replicas behind HAProxy on the same port (deploy/serve.py)
serve: $(STAMP)
	$(PY) -m deploy.serve --replicas $(REPLICAS) --port $(PORT)

test: $(DSTAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench.bench

lint: $(DSTAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# tools/: drive the running app in the system Chromium (see tools/__init__.py)
screenshot: $(DSTAMP)
	$(PY) -m tools.screenshot $(ARGS)

measure: $(DSTAMP)
	$(PY) -m tools.measure $(ARGS)

loadtest: $(DSTAMP)
	$(PY) -m tools.loadtest $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
