# Broadcast: the two commands are `make run` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
# Tests use both cores unless told otherwise (PYTEST_WORKERS=0 runs them in one process).
PYTEST_WORKERS ?= 2

.PHONY: install run test lint format bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: install
	@DEBUG=$${DEBUG:-true} $(PY) scripts/with_redis.py $(PY) scripts/run.py

test: install
	@bash scripts/ensure_chromium.sh
	$(PY) scripts/with_redis.py $(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# mypy checks the typed core: services, selectors, the sending engine and recipient tracking.
TYPED := accounts/services.py accounts/selectors.py whatsapp/services.py whatsapp/selectors.py \
	templates_app/services.py templates_app/selectors.py campaigns/services campaigns/selectors.py \
	campaigns/engine campaigns/tracking webhooks/services templates_app/presentation.py config/paginator.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy $(TYPED)
	$(PY) -m scripts.app_graph

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) scripts/with_redis.py $(PY) -m bench

clean:
	rm -rf $(VENV) data staticfiles
