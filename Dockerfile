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
# collectstatic reads no database; a URL keeps the embedded server from starting.
RUN pip install --no-cache-dir . \
    && DATABASE_URL=postgres://build@localhost/none python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["python", "-m", "stamps_server.serve"]
