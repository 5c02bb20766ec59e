# Patronage: one image for the web server and the worker.
#   docker build -t patronage .
#   docker compose up -d   (see compose.yaml and docs/operations.md)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATRONAGE_LOG_FORMAT=json
COPY --from=build /install /usr/local
RUN groupadd --system --gid 10001 patronage \
    && useradd --system --uid 10001 --gid patronage --home-dir /var/lib/patronage --create-home patronage
# Numeric, so the host and Kubernetes' runAsNonRoot can check it is not root.
USER 10001:10001
WORKDIR /var/lib/patronage
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# The web tier; the worker runs the same image with `patronage worker`.
CMD ["patronage", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
