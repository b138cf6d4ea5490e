# EngageX production image: python slim, non-root, the locked dependencies.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production

RUN apt-get update \
    && apt-get install --no-install-recommends -y libpq5 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 engagex

WORKDIR /app
COPY requirements.lock .
RUN pip install -r requirements.lock

COPY --chown=engagex:engagex . .
# collectstatic needs settings, not a database or real secrets.
RUN SECRET_KEY=collectstatic-only DATABASE_URL=postgres://localhost/none \
    python manage.py collectstatic --noinput

USER engagex
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,os; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/healthz', headers={'Host': os.environ.get('BASE_DOMAIN', 'localhost')}))" || exit 1
CMD ["gunicorn", "config.wsgi:application", "--config", "config/gunicorn.py"]
