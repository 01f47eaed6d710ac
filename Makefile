VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
STAMP  := $(VENV)/.installed
DSTAMP := $(VENV)/.installed-dev

.PHONY: run test bench lint screenshot loadtest clean

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

test: $(DSTAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench.bench

lint: $(DSTAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

screenshot: $(DSTAMP)
	$(PY) -m tests.browser.screenshot

loadtest: $(DSTAMP)
	$(PY) -m tests.browser.loadtest

clean:
	rm -rf $(VENV) .pytest_cache
