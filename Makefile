# Coffre: `make demo` builds a demo vault and opens it; `make test` runs lint and the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit bench clean catalogues

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/coffre demo --dir demo-vault --force > demo-vault.passphrase
	@echo "Demo passphrase (also in demo-vault.passphrase): $$(cat demo-vault.passphrase)"
	COFFRE_PASSPHRASE_FILE=demo-vault.passphrase $(BIN)/coffre --vault demo-vault tui

lint: $(STAMP)
	$(BIN)/ruff check vault tui tests benchmarks
	$(BIN)/ruff format --check vault tui tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -n 2 -q

test: lint unit

# Extract every message of the CLI and the TUI, merge it into each language's .po, compile
# the .mo (docs/architecture.md, "Languages").
catalogues: $(STAMP)
	$(BIN)/python -m vault.cli.catalogues

bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) demo-vault demo-vault.passphrase .pytest_cache .mypy_cache .ruff_cache
