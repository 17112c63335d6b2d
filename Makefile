# Two entry points, each doing its own set-up: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
AG := $(VENV)/bin/autograder
PYTEST_ARGS ?= -q

.PHONY: setup demo test test-fast validate bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $@

# Release every assignment, build a small sample class (perfect, blank, partial, buggy) and grade it.
demo: setup
	$(AG) release
	rm -rf out/sample_class
	$(PY) examples/make_sample_class.py ch1_intro out/sample_class
	$(AG) grade ch1_intro out/sample_class --out out/ch1_intro

# The project's tests, then the CI gate over every assignment.
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)
	$(AG) validate

test-fast: setup
	$(PY) -m pytest $(PYTEST_ARGS) -m "not slow"

validate: setup
	$(AG) validate

# Every chapter against nbgrader autograde, then ch3 at 12/48/200 submissions (~40 min on 2 cores).
bench: setup
	$(PY) benchmarks/grade_throughput.py -n 12 --json out/bench.json

clean:
	rm -rf out
