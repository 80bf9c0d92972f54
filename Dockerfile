FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY stamps_server ./stamps_server
COPY loyalty ./loyalty
COPY redemptions ./redemptions
COPY idempotency ./idempotency
COPY transactions ./transactions
COPY manage.py ./
RUN pip install --no-cache-dir . && python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["python", "-m", "stamps_server.serve"]
