FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md manage.py ./
COPY stamps_server ./stamps_server
COPY core ./core
COPY loyalty ./loyalty
COPY redemptions ./redemptions
COPY transactions ./transactions
COPY activities ./activities
COPY demo ./demo
# collectstatic reads the settings, which refuse to start without a secret key and would
# start the embedded database without a URL: a throwaway key and a URL it never connects to.
RUN pip install --no-cache-dir . && \
    DJANGO_SECRET_KEY=collectstatic-at-build-time-only \
    DATABASE_URL=postgres://build@localhost/unused \
    python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["python", "-m", "stamps_server.serve"]
