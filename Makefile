# EngageX: `make run` to start everything, `make test` to run the suite. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# The tag docker-compose.yml runs too (its `image:`), so docker-run starts what docker-build built.
IMAGE := engagex:latest
# Exported so every command (load_demo's printed URLs, the server, the cluster's emailed
# links) agrees on the port; SITE_PORT follows it in development unless set.
export PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.development

.PHONY: install messages setup run scheduler test lint format migrate makemigrations check \
	check-deploy bench shell clean lock dump-db load-db docker-build docker-run assets

install: $(STAMP)

$(STAMP): requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

# Compile translations (locale/*.po); the compiled .mo files are committed for machines
# without gettext.
messages: install
	@if command -v msgfmt >/dev/null; then \
		$(PY) manage.py compilemessages -v0 --ignore=.venv --ignore=.local --ignore=.lockenv; \
	else echo "msgfmt not found: using the committed .mo files"; fi

setup: install messages
	@$(PY) manage.py setup_platform -v0
	@$(PY) manage.py register_schedules
	@$(PY) manage.py seed_plans
	@$(PY) manage.py load_demo

run: setup
	@bin/run $(PORT)

# The django-q2 task cluster alone (`make run` starts it beside the web server), e.g. for a
# second worker or beside your own `manage.py runserver`; needs a set-up database.
scheduler: install
	$(PY) manage.py qcluster

migrate: install
	$(PY) manage.py setup_platform --executor=multiprocessing

makemigrations: install
	$(PY) manage.py makemigrations

test: install messages
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run -v0
	DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/pytest

# The visual email editor's JavaScript and CSS (GrapesJS + grapesjs-mjml, bundled by esbuild)
# from frontend/package-lock.json into static/engagex/editor/. The output is committed, so
# `make run` and CI need no Node.js; run this (Node.js 20+) after changing frontend/.
assets:
	cd frontend && npm ci --no-audit --no-fund && npm run build

# Layers: the import-linter contracts in pyproject.toml. Types: mypy with django-stubs
# (settings: config.settings.test) on engagex, tenants and config.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

dump-db: install
	$(PY) manage.py dump_workspace --slug demo --output demo.json

load-db: install
	$(PY) manage.py load_workspace --slug demo --input demo.json

shell: install
	$(PY) manage.py shell

# Django's system checks with the development settings, then the deployment checks.
check: install
	$(PY) manage.py check --fail-level WARNING
	@$(MAKE) --no-print-directory check-deploy

# Production settings with placeholder values: no real secret or database is needed.
check-deploy: install
	DJANGO_SETTINGS_MODULE=config.settings.production DATABASE_URL=postgres://localhost/engagex \
		ANYMAIL_WEBHOOK_SECRET=check:only \
		SECRET_KEY=check-only-$$(date +%s)-not-a-real-secret-value-0123456789abcdefghijklmnop \
		$(PY) manage.py check --deploy --fail-level WARNING

# Install pyproject.toml (app + dev extras) into a throw-away venv and pin what it got, sorted
# case-insensitively. The current lock constrains the resolve, so packages already pinned keep
# their versions and only new or changed requirements are resolved: a re-lock reproduces the
# lock. `make lock UPGRADE=1` re-resolves everything to the newest allowed versions.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --disable-pip-version-check \
		$(if $(UPGRADE),,$(if $(wildcard requirements.lock),-c requirements.lock)) '.[dev]'
	{ echo "# Exact versions for every environment (app + dev tools). Regenerate with: make lock"; \
	  .lockenv/bin/pip freeze --exclude-editable | grep -v '^engagex' | LC_ALL=C sort -f; \
	} > .lockenv/requirements.lock
	mv .lockenv/requirements.lock requirements.lock
	rm -rf .lockenv build *.egg-info

docker-build:
	docker build -t $(IMAGE) .

# The production-like stack of docker-compose.yml: PostgreSQL, Redis, release, web, worker.
docker-run:
	docker compose up

clean:
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
	rm -rf .local/staticfiles .local/mail
