# Conveniences around dev.py; the README's two commands do not need make.
PY ?= python3
VENV_BIN = .venv/bin
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test test-postgres lint format bench translations-extract translations-update

run:
	$(PY) dev.py run

test:
	$(PY) dev.py test

test-postgres:
	CRM_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) dev.py test

lint:
	$(VENV_BIN)/ruff check .
	$(VENV_BIN)/ruff format --check .

format:
	$(VENV_BIN)/ruff check --fix .
	$(VENV_BIN)/ruff format .

bench:
	@for script in bench/bench_*.py; do echo "== $$script"; $(VENV_BIN)/python $$script || exit 1; done

translations-extract:
	$(VENV_BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o crm/translations/messages.pot .

translations-update: translations-extract
	$(VENV_BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations -l zh
