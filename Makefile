# The two commands: `make demo` and `make test`. Everything else supports them.
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
# Where `make demo` serves: `make demo PORT=5050`, or HOST=0.0.0.0 to be reached from
# another machine. The demo prints its addresses with them.
HOST ?= 127.0.0.1
PORT ?= 5000
# The demo mailbox's ports on 127.0.0.1 (its mail server and its webhook receiver):
# `make demo MAILBOX_SMTP_PORT=2525 MAILBOX_HTTP_PORT=2526` when 8025/8026 are taken.
MAILBOX_SMTP_PORT ?= 8025
MAILBOX_HTTP_PORT ?= 8026
# PostgreSQL for the app tests; .ci/run creates this role and database on loopback.
WELLBEING_TEST_POSTGRES_URL ?= postgresql+psycopg://wellbeing:wellbeing@127.0.0.1:5432/wellbeing_test
export WELLBEING_TEST_POSTGRES_URL

.PHONY: install demo serve test lint format translations benchmarks clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/wellbeing db upgrade
	$(BIN)/wellbeing keys generate --if-missing
	$(BIN)/wellbeing demo --if-empty --host $(HOST) --port $(PORT)
	# The web server, the scheduler beside it (reminders, escalations, mail) and the demo
	# mailbox, which prints the mail and webhooks they send: Ctrl-C stops all three.
	$(BIN)/wellbeing serve --with-scheduler --demo-mailbox --mailbox-smtp-port $(MAILBOX_SMTP_PORT) --mailbox-http-port $(MAILBOX_HTTP_PORT) --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(PY) -m pytest tests -m "not browser" --db sqlite
	$(PY) -m pytest tests/wellbeing --db postgresql
	$(PY) -m pytest tests/e2e -m browser

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o wellbeing/translations/messages.pot .
	$(BIN)/pybabel update -i wellbeing/translations/messages.pot -d wellbeing/translations --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d wellbeing/translations

benchmarks: install
	for script in benchmarks/bench_*.py; do $(PY) $$script; done

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
