# Quick start: `make run` serves the demo on http://127.0.0.1:5000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
CATALOGUES := $(wildcard crm/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
# axe-core, the accessibility checker that tests/browser/test_every_page_browser.py runs in
# every page: from the npm registry into the venv, pinned, never committed, never from a CDN.
AXE_CORE_VERSION := 4.14.1
AXE_CORE := $(VENV)/node/node_modules/axe-core/axe.min.js
AXE_CORE_STAMP := $(VENV)/node/.axe-core-$(AXE_CORE_VERSION)

.PHONY: run test install translations extract-messages lint clean

# The outbox worker and the webhook worker run beside the server and stop with it. Without
# MAIL_SERVER, development mail is written to the log instead of being sent. With IMAP_HOST
# set (and the other IMAP_* settings), the mail reader runs beside them too and reads the
# office mailbox.
run: install
	$(FLASK) db upgrade
	$(FLASK) crm demo-data
	@echo "Serving on http://127.0.0.1:5000 (Ctrl-C to stop)"
	@CRM_ENV=development $(FLASK) crm send-mail --loop & worker=$$!; reader=; \
	CRM_ENV=development $(FLASK) crm send-webhooks --loop & hooks=$$!; \
	if [ -n "$$IMAP_HOST" ]; then \
		CRM_ENV=development $(FLASK) crm fetch-mail --loop & reader=$$!; \
	else \
		echo "Incoming mail is off (set IMAP_HOST to read the office mailbox)"; \
	fi; \
	trap 'kill $$worker $$hooks $$reader 2>/dev/null' EXIT INT TERM; \
	CRM_ENV=development $(FLASK) run --host 127.0.0.1 --port 5000

# Runs on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set, each in parallel on
# every core (pytest-xdist; each worker has its own database). PYTEST_WORKERS=0 runs in one
# process. Tests are handed out one by one (--dist load), so a long file (the mail outage
# test) does not keep one worker busy while the other idles. The test that restarts
# PostgreSQL runs alone afterwards: it would cut off the other workers.
PYTEST_WORKERS ?= auto
test: install
	env -u TEST_DATABASE_URL $(BIN)/pytest -n $(PYTEST_WORKERS) --dist load
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on PostgreSQL ($$TEST_DATABASE_URL)"; \
		$(BIN)/pytest -n $(PYTEST_WORKERS) --dist load -m "not restarts_database" && \
		$(BIN)/pytest -m restarts_database; \
	fi

install: $(STAMP) $(COMPILED) $(AXE_CORE_STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Once per version (the stamp names it). Without npm, or offline, the accessibility test
# skips, or fails where CRM_REQUIRE_BROWSER is set (CI).
$(AXE_CORE_STAMP): | $(STAMP)
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "npm is missing: the accessibility test will skip (apt-get install npm)"; \
	elif npm install --no-save --no-audit --no-fund --no-package-lock --prefix $(VENV)/node \
			axe-core@$(AXE_CORE_VERSION) && test -f $(AXE_CORE); then \
		touch $@; \
	else \
		echo "axe-core did not install: the accessibility test will skip"; \
	fi

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@

# Refresh the catalogues after adding or changing user-facing strings.
extract-messages: $(STAMP)
	PYTHONPATH=. $(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o crm/translations/messages.pot .
	$(BIN)/pybabel update -i crm/translations/messages.pot -d crm/translations --no-fuzzy-matching

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
