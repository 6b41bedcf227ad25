# syntax=docker/dockerfile:1
# The action server of zhiyin (rasa-sdk, actions/server.py: refuses calls without
# X-Action-Secret), also the image of the migration/seed Job (python -m zhiyin.seed, which reads
# seed/) and of the privacy purge CronJob (python -m zhiyin privacy purge). Build from the
# repository root:
#
#   docker build -f deploy/docker/actions.Dockerfile -t registry.example.com/zhiyin/actions:1.0.0 .
#
# Runtime dependencies only (requirements.txt); the actions import zhiyin/ and nothing else of
# the project (tests/deploy/test_k8s.py checks the imports). The command is the one of the
# Kubernetes Deployment (deploy/k8s/actions.yaml).

FROM python:3.10.16-slim-bookworm AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --upgrade pip \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt

FROM python:3.10.16-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1
RUN groupadd --system --gid 10001 zhiyin \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin zhiyin
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
COPY zhiyin/ zhiyin/
COPY actions/ actions/
COPY seed/ seed/
RUN mkdir -p /app/var && chown 10001:10001 /app/var
USER 10001:10001
EXPOSE 5055
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5055/health', timeout=4)"]
CMD ["python", "-m", "actions.server", "--host", "0.0.0.0", "--port", "5055"]
