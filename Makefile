# The two set-up commands of the README: `make run` and `make test`.
# Both create .venv and install smsdesk into it on first use.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test bench sandbox clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/smsdesk $(ARGS)

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks $(ARGS)

sandbox: $(BIN)/.installed
	$(BIN)/smsdesk sandbox --demo-data $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
