# Two commands do everything on a fresh machine with Python 3.11+:
#   make run    set up, migrate, seed, create demo accounts (new database), serve on :5000
#   make test   set up, run the suite on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
HOST ?= 127.0.0.1
PORT ?= 5000
CATALOGS := $(wildcard iku_admin/translations/*/LC_MESSAGES/*.po)
# Debian/Ubuntu packages of the system libraries the PDFs need (WeasyPrint): Pango with its
# FreeType backend (they bring GLib, HarfBuzz and fontconfig), HarfBuzz's font subsetter, and
# the font the documents are set in.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

.DEFAULT_GOAL := install
.PHONY: run test install system-packages translations extract lint screenshots bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

install: system-packages $(BIN)/.installed translations

# Install the missing system packages with apt-get when running as root; otherwise say which
# command installs them (the app and the suite still run; the PDFs need them).
system-packages:
	@command -v dpkg-query >/dev/null || { echo "Not Debian/Ubuntu: install Pango >= 1.44, HarfBuzz with its subset library and the DejaVu fonts (README, Run it)"; exit 0; }; \
	missing=$$(for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -qx installed || echo $$p; \
	done | tr '\n' ' '); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "--- installing the system packages the PDFs need: $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	else \
		echo "*** The PDFs need these system packages: $$missing"; \
		echo "*** Install them with:  sudo apt-get install $$missing"; \
	fi

# Compiled catalogs (.mo) are build output, not kept in git.
translations: $(BIN)/.installed $(CATALOGS:.po=.mo)

%.mo: %.po
	$(BIN)/pybabel compile --statistics -i $< -o $@ 2>&1 | tail -1

# Refresh messages.pot from the code and templates, and merge it into the catalogs.
extract: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -k lazy_gettext --no-location -o iku_admin/translations/messages.pot .
	$(BIN)/pybabel update -i iku_admin/translations/messages.pot -d iku_admin/translations --no-fuzzy-matching

run: install
	IKU_DEMO=1 $(FLASK) db upgrade
	IKU_DEMO=1 $(FLASK) seed
	IKU_DEMO=1 $(FLASK) demo --if-empty
	@echo "IKU Admin: http://$(HOST):$(PORT)/  (demo accounts above, password demo-IKU-2026)"
	IKU_DEMO=1 $(FLASK) run --host $(HOST) --port $(PORT)

test: install
	@echo "=== Test run 1/2: SQLite ==="
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "=== Test run 2/2: PostgreSQL ($$TEST_DATABASE_URL) ==="; \
		$(BIN)/python -m pytest $(PYTEST_ARGS); \
	else \
		echo "=== Test run 2/2: PostgreSQL SKIPPED: set TEST_DATABASE_URL=postgresql://USER@HOST/DB to run it ==="; \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache

# Screenshots of the main screens into docs/screenshots/ for the README (real Chromium:
# apt-get install chromium), from a fresh temporary database with the demo data.
screenshots: translations
	$(BIN)/python -m tests.e2e.screenshots
