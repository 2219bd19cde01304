# One image for every process: web (gunicorn), worker and beat (Celery).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml ./
COPY . .
RUN pip install . && \
    DEBUG=false SECRET_KEY=build-only FIELD_ENCRYPTION_KEY=YnVpbGQtb25seS1rZXktMDEyMzQ1Njc4OTAxMjM0NTY= \
    python manage.py collectstatic --noinput
RUN useradd --system --home /app broadcast && mkdir -p /app/data && chown broadcast /app/data
USER broadcast
EXPOSE 8000
# Workers, threads, keep-alive and logging come from gunicorn.conf.py (as for `make run` and
# `make bench`); set WEB_CONCURRENCY to about one process per core.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "config.wsgi", "--bind", "0.0.0.0:8000"]
