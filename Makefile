# Two commands for a new user: `make demo` (run the main job on the embedded synthetic default)
# and `make test` (lint, type-check and run the test suite). Each creates the venv it needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
SCALE ?= small
SEED ?= 0
# Test processes (pytest-xdist); each test file runs whole in one of them, so its module fixtures are built once.
TEST_WORKERS ?= 2
BENCH_JSON ?= benchmarks/results/latest-$(SCALE).json
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/.installed: pyproject.toml constraints.txt
	@pkg-config --exists icu-uc 2>/dev/null && command -v g++ >/dev/null || { echo "pyicu (name transliteration) \
	is built from source: install the ICU headers and a C++ compiler first, e.g. apt-get install libicu-dev \
	pkg-config g++"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	TRACERISK_HOME=var $(BIN)/tracerisk pipeline --scale $(SCALE) --seed $(SEED)
	TRACERISK_HOME=var $(BIN)/tracerisk users demo
	TRACERISK_HOME=var $(BIN)/tracerisk serve --host 127.0.0.1 --port 8000

lint: $(BIN)/.installed
	$(BIN)/ruff check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

unit: $(BIN)/.installed
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

test: lint typecheck unit

# Every benchmark at SCALE, then the result file's shape and rows checked (timings are never asserted).
bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks run --scale $(SCALE) --json $(BENCH_JSON)
	$(BIN)/python -m benchmarks check $(BENCH_JSON) --scale $(SCALE)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
