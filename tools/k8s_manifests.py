"""zhiyin's Kubernetes manifests (deploy/k8s) and images (deploy/docker): render and validate, offline.

    python -m tools.k8s_manifests render > all.yaml   # what `kubectl apply -k deploy/k8s` applies
    python -m tools.k8s_manifests validate            # `make k8s`: exit status 1 on any problem

kustomize is not needed: deploy/k8s/kustomization.yaml uses only `resources` (plain files in
that folder), which `render` concatenates in order, as kustomize would (anything else in it is
refused rather than silently ignored). `validate` checks

- every document, and the Secret template secret.example.yaml, against the Kubernetes JSON
  schemas that the PyPI package kubernetes-validate bundles, strict (unknown fields are errors);
- zhiyin's own rules: every container has CPU and memory requests and limits (requests within
  limits), servers have readiness and liveness probes, every pod runs non-root with a read-only
  root filesystem, no privilege escalation, no capabilities and RuntimeDefault seccomp, images
  carry a version; Secrets hold placeholders only; every ConfigMap, Secret, key and $(VAR) a
  container uses exists, and so does every ${VAR} of the endpoints.yml Rasa is given; each
  zhiyin container has the data keys and the database; several Rasa pods share a lock store
  and a tracker store; Services, NetworkPolicies, PodDisruptionBudgets and the autoscaler select
  pods that exist; the public Ingresses route exactly the public paths of the nginx front
  (deploy/nginx/zhiyin.conf), socket.io with cookie affinity, and the internal one the desk only;
- the Dockerfiles: a base image with an exact version, every COPY source in the repository
  and in the build context (.dockerignore), every project package the server imports copied, a
  numeric non-root USER, no dev requirements, HEALTHCHECK, EXPOSE of the manifests' port,
  RASA_TELEMETRY_ENABLED=false, and the CMD that the Deployments run.
"""

from __future__ import annotations

import argparse
import ast
import base64
import binascii
import functools
import json
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import kubernetes_validate
import yaml

from tools.nginx_config import Site
from tools.nginx_config import render as render_nginx
from zhiyin.paths import MODEL_PATH, PROJECT_ROOT

K8S_DIR = PROJECT_ROOT / "deploy" / "k8s"
DOCKER_DIR = PROJECT_ROOT / "deploy" / "docker"
SECRET_TEMPLATE = "secret.example.yaml"
# The newest schemas kubernetes-validate can use in this virtual environment: from 1.29 on it
# needs jsonschema >= 4.18 (the `referencing` API), and Rasa 3.6 pins jsonschema < 4.18. The
# APIs used here (apps/v1, batch/v1, networking.k8s.io/v1, autoscaling/v2, policy/v1) are GA;
# the documents also validate, strict, against the schema files of kubernetes-validate 1.30.0
# and 1.37.0 (checked once by hand, with jsonschema's RefResolver).
KUBERNETES_VERSION = "1.28"
NAMESPACE = "zhiyin"
PLACEHOLDER = "CHANGE-ME"
# What a container gets from zhiyin-secrets must be the same everywhere: a zhiyin process
# without them makes up its own keys (zhiyin.settings) and encrypts with them.
ZHIYIN_REQUIRED_ENV = ("DATABASE_URL", "ZHIYIN_DATA_KEYS", "ZHIYIN_LOOKUP_KEY")
ZHIYIN_IMAGE = re.compile(r"/zhiyin/(?P<name>[a-z0-9-]+)(?::|@|$)")
ENDPOINTS_MOUNT = "/app/endpoints.yml"
SHARED_LOCK_STORE = "channels.lock_store.ConversationLockStore"
INGRESS_CLASS_PUBLIC = "nginx"
DESK_PATHS = {("/agent/", "Prefix")}
AFFINITY = "nginx.ingress.kubernetes.io/affinity"
BODY_SIZE = "nginx.ingress.kubernetes.io/proxy-body-size"
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources"}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")
SERVER_KINDS = ("Deployment", "StatefulSet")
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass", "IngressClass"}
FIRST_PARTY = {"zhiyin", "actions", "channels", "asr_channel", "components", "desk", "insight", "tools", "tests"}
# Copied into an image but made by a build step (`make train`), so absent from a fresh clone.
BUILT = {MODEL_PATH.relative_to(PROJECT_ROOT).as_posix()}
ENV_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
ENDPOINTS_VARIABLE = re.compile(r"\$\{([^}]+)\}")


class ManifestError(RuntimeError):
    """The kustomization cannot be rendered the way kustomize would render it."""


@dataclass(frozen=True)
class Manifest:
    """One YAML document of deploy/k8s and the file it comes from."""

    file: str
    data: Dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.data.get("metadata") or {}).get("name", ""))

    @property
    def ref(self) -> str:
        return f"{self.file}: {self.kind}/{self.name}"


@dataclass(frozen=True)
class Pod:
    """A pod template of a workload."""

    owner: Manifest
    labels: Dict[str, str]
    spec: Dict[str, Any]

    def containers(self, init: bool = True) -> List[Dict[str, Any]]:
        found = list(self.spec.get("containers") or [])
        return found + list(self.spec.get("initContainers") or []) if init else found

    def is_init(self, container: Dict[str, Any]) -> bool:
        return any(container is other for other in self.spec.get("initContainers") or [])


# ---- render ------------------------------------------------------------------------------


def resource_files(directory: Path = K8S_DIR) -> List[Path]:
    """The files kustomization.yaml lists under `resources`, in its order."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8")) or {}
    unsupported = sorted(set(kustomization) - KUSTOMIZATION_KEYS)
    if unsupported:
        raise ManifestError(
            f"kustomization.yaml uses {', '.join(unsupported)}: tools.k8s_manifests renders only `resources` "
            "(use `kubectl kustomize` for the rest)"
        )
    files = []
    for entry in kustomization.get("resources") or []:
        path = (directory / str(entry)).resolve()
        if directory.resolve() not in path.parents or not path.is_file():
            raise ManifestError(f"kustomization.yaml: resource {entry!r} is not a file in {directory}")
        files.append(path)
    return files


def render(directory: Path = K8S_DIR) -> str:
    """The resources as one multi-document YAML, comments kept."""
    texts = [path.read_text(encoding="utf-8").strip() for path in resource_files(directory)]
    return "\n---\n".join(texts) + "\n"


def _documents(path: Path) -> Iterator[Manifest]:
    for data in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if data is not None:
            yield Manifest(path.name, data)


def load(directory: Path = K8S_DIR, template: bool = False) -> List[Manifest]:
    """The rendered documents; with `template`, the Secret template after them."""
    manifests = [manifest for path in resource_files(directory) for manifest in _documents(path)]
    if template and (directory / SECRET_TEMPLATE).is_file():
        manifests.extend(_documents(directory / SECRET_TEMPLATE))
    return manifests


# ---- schemas -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def schema_error(document: str, version: str) -> Optional[str]:
    """Why a document (as JSON) does not fit its kind's schema, None if it does. Cached: every
    call loads the schema files again, and the tests validate many near-identical copies."""
    try:
        kubernetes_validate.validate(json.loads(document), version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(part) for part in error.path) or "(top)"
        return f"schema {version}: {where}: {error.message}"
    except kubernetes_validate.SchemaNotFoundError as error:
        return str(error.message)
    return None


def schema_problems(manifests: Iterable[Manifest], version: str = KUBERNETES_VERSION) -> List[str]:
    """Each document against the Kubernetes schema of its kind, unknown fields included."""
    problems = []
    for manifest in manifests:
        error = schema_error(json.dumps(manifest.data, sort_keys=True, default=str), version)
        if error:
            problems.append(f"{manifest.ref}: {error}")
    return problems


# ---- helpers -----------------------------------------------------------------------------


def pods(manifests: Iterable[Manifest]) -> List[Pod]:
    found = []
    for manifest in manifests:
        spec = manifest.data.get("spec") or {}
        if manifest.kind == "CronJob":
            spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        if manifest.kind in WORKLOAD_KINDS:
            template = spec.get("template") or {}
            labels = (template.get("metadata") or {}).get("labels") or {}
            found.append(Pod(manifest, dict(labels), template.get("spec") or {}))
    return found


def selects(selector: Optional[Dict[str, Any]], labels: Dict[str, str]) -> bool:
    """Whether a label selector (matchLabels/matchExpressions, or a Service's plain map) matches;
    an empty one matches every pod, a missing one none."""
    if selector is None:
        return False
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


QUANTITY = re.compile(r"^([0-9.]+(?:e[0-9]+)?)([a-zA-Z]*)$")
SUFFIXES = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def quantity(value: Any) -> Optional[float]:
    """A Kubernetes quantity (250m, 1, 1536Mi, 3Gi) as a number, None if it is not one."""
    match = QUANTITY.match(str(value))
    if not match or match.group(2) not in SUFFIXES:
        return None
    return float(match.group(1)) * SUFFIXES[match.group(2)]


def image_name(image: str) -> Optional[str]:
    """`rasa` for registry.example.com/zhiyin/rasa:1.0.0; None for an image not zhiyin's."""
    found = ZHIYIN_IMAGE.search(image)
    return found.group("name") if found else None


def image_pinned(image: str) -> bool:
    """An explicit tag other than latest, or a digest."""
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and last.rsplit(":", 1)[1] not in ("", "latest")


# ---- containers --------------------------------------------------------------------------


def container_problems(manifests: Sequence[Manifest]) -> List[str]:
    """Resources, probes, security context and image tags of every container."""
    problems = []
    for pod in pods(manifests):
        security = pod.spec.get("securityContext") or {}
        for container in pod.containers():
            where = f"{pod.owner.ref}: container {container.get('name')}"
            resources = container.get("resources") or {}
            for resource in ("cpu", "memory"):
                request = (resources.get("requests") or {}).get(resource)
                limit = (resources.get("limits") or {}).get(resource)
                if request is None:
                    problems.append(f"{where}: no {resource} request")
                if limit is None:
                    problems.append(f"{where}: no {resource} limit")
                if request is not None and limit is not None:
                    low, high = quantity(request), quantity(limit)
                    if low is None or high is None:
                        problems.append(f"{where}: {resource} {request!r} / {limit!r} is not a quantity")
                    elif low > high:
                        problems.append(f"{where}: {resource} request {request} above its limit {limit}")
            if pod.owner.kind in SERVER_KINDS and not pod.is_init(container):
                for probe in ("readinessProbe", "livenessProbe"):
                    if not container.get(probe):
                        problems.append(f"{where}: no {probe}")
            own = container.get("securityContext") or {}
            if not own.get("runAsNonRoot", security.get("runAsNonRoot")):
                problems.append(f"{where}: runAsNonRoot is not true")
            if own.get("runAsUser", security.get("runAsUser")) == 0:
                problems.append(f"{where}: runs as uid 0")
            if own.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if own.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem is not true")
            if "ALL" not in ((own.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{where}: capabilities do not drop ALL")
            seccomp = own.get("seccompProfile") or security.get("seccompProfile") or {}
            if seccomp.get("type") != "RuntimeDefault":
                problems.append(f"{where}: seccompProfile is not RuntimeDefault")
            if not image_pinned(str(container.get("image", ""))):
                problems.append(f"{where}: image {container.get('image')!r} has no version tag")
    return problems


# ---- secrets, config, environment --------------------------------------------------------


def secret_values(manifest: Manifest) -> Dict[str, Optional[str]]:
    """A Secret's keys and values (data decoded; None where it is not base64 of UTF-8)."""
    values: Dict[str, Optional[str]] = {
        key: str(value) for key, value in (manifest.data.get("stringData") or {}).items()
    }
    for key, value in (manifest.data.get("data") or {}).items():
        try:
            values[key] = base64.b64decode(str(value), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            values[key] = None
    return values


def secret_problems(manifests: Iterable[Manifest]) -> List[str]:
    """A Secret in the repository holds placeholders, never a value."""
    problems = []
    for manifest in manifests:
        if manifest.kind != "Secret":
            continue
        for key, value in secret_values(manifest).items():
            if value != PLACEHOLDER:
                problems.append(f"{manifest.ref}: {key} holds a value, not the placeholder {PLACEHOLDER}")
    return problems


def _sources(manifests: Iterable[Manifest]) -> Dict[Tuple[str, str], Set[str]]:
    """(kind, name) of every ConfigMap and Secret -> its keys."""
    found: Dict[Tuple[str, str], Set[str]] = {}
    for manifest in manifests:
        if manifest.kind == "ConfigMap":
            keys = set(manifest.data.get("data") or {}) | set(manifest.data.get("binaryData") or {})
            found[("ConfigMap", manifest.name)] = keys
        elif manifest.kind == "Secret":
            found[("Secret", manifest.name)] = set(secret_values(manifest))
    return found


def container_env(
    container: Dict[str, Any], sources: Dict[Tuple[str, str], Set[str]], where: str, problems: List[str]
) -> Set[str]:
    """The variables a container gets; what it refers to that does not exist goes to `problems`."""
    names: Set[str] = set()
    for entry in container.get("envFrom") or []:
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = entry.get(field)
            if ref is None:
                continue
            keys = sources.get((kind, ref.get("name")))
            if keys is None:
                if not ref.get("optional"):
                    problems.append(f"{where}: envFrom {kind} {ref.get('name')!r} does not exist")
                continue
            names |= {f"{entry.get('prefix', '')}{key}" for key in keys}
    for variable in container.get("env") or []:
        value_from = variable.get("valueFrom") or {}
        for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
            ref = value_from.get(field)
            if ref is None or ref.get("optional"):
                continue
            keys = sources.get((kind, ref.get("name")))
            if keys is None or ref.get("key") not in keys:
                problems.append(
                    f"{where}: {variable.get('name')} needs key {ref.get('key')!r} of {kind} {ref.get('name')!r}"
                )
        # $(VAR) expands only to variables defined before it (envFrom first, then env in order).
        for used in ENV_REFERENCE.findall(str(variable.get("value", ""))):
            if used not in names:
                problems.append(f"{where}: {variable.get('name')} uses $({used}), which is not defined before it")
        names.add(str(variable.get("name")))
    for part in list(container.get("command") or []) + list(container.get("args") or []):
        for used in ENV_REFERENCE.findall(str(part)):
            if used not in names:
                problems.append(f"{where}: the command uses $({used}), which is not defined")
    return names


def mounted_endpoints(pod: Pod, container: Dict[str, Any], manifests: Sequence[Manifest]) -> Optional[str]:
    """The endpoints.yml a container gets from a ConfigMap at /app/endpoints.yml, if any."""
    volumes = {volume.get("name"): volume for volume in pod.spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        if mount.get("mountPath") != ENDPOINTS_MOUNT:
            continue
        config_map = (volumes.get(mount.get("name")) or {}).get("configMap") or {}
        for manifest in manifests:
            if manifest.kind == "ConfigMap" and manifest.name == config_map.get("name"):
                return (manifest.data.get("data") or {}).get(mount.get("subPath") or "endpoints.yml")
    return None


def scaled_out(pod: Pod, manifests: Sequence[Manifest]) -> bool:
    """More than one replica of the workload: by `replicas` or by an autoscaler."""
    if pod.owner.kind not in SERVER_KINDS:
        return False
    if int((pod.owner.data.get("spec") or {}).get("replicas", 1)) > 1:
        return True
    return any(
        manifest.kind == "HorizontalPodAutoscaler"
        and (manifest.data.get("spec") or {}).get("scaleTargetRef", {}).get("name") == pod.owner.name
        and int(manifest.data["spec"].get("maxReplicas", 1)) > 1
        for manifest in manifests
    )


def environment_problems(manifests: Sequence[Manifest]) -> List[str]:
    """References to ConfigMaps, Secrets, keys and variables; what zhiyin's processes need."""
    problems: List[str] = []
    sources = _sources(manifests)
    for pod in pods(manifests):
        for volume in pod.spec.get("volumes") or []:
            for field, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                ref = volume.get(field)
                name = (ref or {}).get("secretName" if kind == "Secret" else "name")
                if ref is not None and not ref.get("optional") and (kind, name) not in sources:
                    problems.append(f"{pod.owner.ref}: volume {volume.get('name')} needs {kind} {name!r}")
        for container in pod.containers():
            where = f"{pod.owner.ref}: container {container.get('name')}"
            names = container_env(container, sources, where, problems)
            if image_name(str(container.get("image", ""))) is not None:
                missing = [name for name in ZHIYIN_REQUIRED_ENV if name not in names]
                if missing:
                    problems.append(f"{where}: runs zhiyin without {', '.join(missing)}")
            endpoints = mounted_endpoints(pod, container, manifests)
            if endpoints is None:
                continue
            for variable in sorted(set(ENDPOINTS_VARIABLE.findall(endpoints))):
                if variable not in names:
                    problems.append(f"{where}: endpoints.yml uses ${{{variable}}}, which the container does not have")
            if scaled_out(pod, manifests):
                config = yaml.safe_load(endpoints) or {}
                lock_store = config.get("lock_store") or {}
                if lock_store.get("type") != SHARED_LOCK_STORE or not lock_store.get("url"):
                    problems.append(
                        f"{where}: several Rasa pods need a shared lock store ({SHARED_LOCK_STORE} with a Redis url;"
                        " Rasa's own RedisLockStore can hand one ticket to two pods)"
                    )
                tracker = config.get("tracker_store") or {}
                if not tracker or tracker.get("dialect", "sqlite") == "sqlite":
                    problems.append(f"{where}: several Rasa pods need a shared tracker store (not SQLite)")
    return problems


# ---- selectors ---------------------------------------------------------------------------


def _ports(pod: Pod) -> Set[Any]:
    return {
        value
        for container in pod.containers(init=False)
        for port in container.get("ports") or []
        for value in (port.get("name"), port.get("containerPort"))
        if value is not None
    }


def selector_problems(manifests: Sequence[Manifest]) -> List[str]:
    """Every selector selects pods that exist; Services reach ports those pods have."""
    problems = []
    templates = pods(manifests)
    services = {manifest.name: manifest for manifest in manifests if manifest.kind == "Service"}

    def matched(selector: Optional[Dict[str, Any]], kinds: Sequence[str] = WORKLOAD_KINDS) -> List[Pod]:
        return [pod for pod in templates if pod.owner.kind in kinds and selects(selector, pod.labels)]

    for manifest in manifests:
        spec = manifest.data.get("spec") or {}
        if manifest.kind in SERVER_KINDS:
            own = next(pod for pod in templates if pod.owner is manifest)
            if not selects(spec.get("selector"), own.labels):
                problems.append(f"{manifest.ref}: its selector does not match its pod template")
            if manifest.kind == "StatefulSet" and spec.get("serviceName") not in services:
                problems.append(f"{manifest.ref}: serviceName {spec.get('serviceName')!r} is not a Service")
        elif manifest.kind == "Service":
            selected = matched(spec.get("selector"), SERVER_KINDS)
            if not selected:
                problems.append(f"{manifest.ref}: its selector matches no pods")
            for port in spec.get("ports") or []:
                target = port.get("targetPort", port.get("port"))
                if selected and not any(target in _ports(pod) for pod in selected):
                    problems.append(f"{manifest.ref}: targetPort {target!r} is not a port of its pods")
        elif manifest.kind == "NetworkPolicy":
            if not matched(spec.get("podSelector")):
                problems.append(f"{manifest.ref}: its podSelector matches no pods")
            for rule in spec.get("ingress") or []:
                for peer in rule.get("from") or []:
                    if "podSelector" in peer and "namespaceSelector" not in peer and not matched(peer["podSelector"]):
                        problems.append(f"{manifest.ref}: a `from` podSelector matches no pods")
        elif manifest.kind == "PodDisruptionBudget":
            if not matched(spec.get("selector"), SERVER_KINDS):
                problems.append(f"{manifest.ref}: its selector matches no pods")
        elif manifest.kind == "HorizontalPodAutoscaler":
            target = spec.get("scaleTargetRef") or {}
            if not any(other.kind == target.get("kind") and other.name == target.get("name") for other in manifests):
                problems.append(
                    f"{manifest.ref}: scales {target.get('kind')}/{target.get('name')}, which does not exist"
                )
            if int(spec.get("minReplicas", 1)) > int(spec.get("maxReplicas", 0)):
                problems.append(f"{manifest.ref}: minReplicas above maxReplicas")
    return problems


def namespace_problems(manifests: Iterable[Manifest]) -> List[str]:
    return [
        f"{manifest.ref}: not in namespace {NAMESPACE}"
        for manifest in manifests
        if manifest.kind not in CLUSTER_SCOPED and (manifest.data.get("metadata") or {}).get("namespace") != NAMESPACE
    ]


# ---- ingress -----------------------------------------------------------------------------


NGINX_TOKEN = re.compile(r"\"[^\"]*\"|'[^']*'|[{};]|[^\s{};]+")


def _nginx_blocks(text: str) -> List[Dict[str, Any]]:
    """nginx configuration as a tree: each directive's name, arguments and block."""
    tokens = NGINX_TOKEN.findall("\n".join(line.split("#", 1)[0] for line in text.splitlines()))
    root: List[Dict[str, Any]] = []
    stack = [root]
    words: List[str] = []
    for token in tokens:
        if token == "{":
            block: List[Dict[str, Any]] = []
            stack[-1].append({"name": words[0], "args": words[1:], "block": block})
            stack.append(block)
            words = []
        elif token == "}":
            stack.pop()
        elif token == ";":
            stack[-1].append({"name": words[0], "args": words[1:], "block": None})
            words = []
        else:
            words.append(token)
    return root


def public_paths(nginx_conf: Optional[str] = None) -> Set[Tuple[str, str]]:
    """(path, pathType) of each location the nginx front's public server proxies to zhiyin.

    The public server is the one that does not deny by address (the private one allows the
    shop's network only); `location = /x` is an Exact path, `location /x/` a Prefix.
    """
    text = nginx_conf if nginx_conf is not None else render_nginx(Site())
    paths = set()
    for server in (item for item in _nginx_blocks(text) if item["name"] == "server"):
        directives = server["block"] or []
        if any(item["name"] == "deny" for item in directives):
            continue
        for location in (item for item in directives if item["name"] == "location"):
            if any(item["name"] == "proxy_pass" for item in location["block"] or []):
                args = location["args"]
                paths.add((args[-1], "Exact" if args[0] == "=" else "Prefix"))
    return paths


def service_ports(service: Optional[Manifest]) -> Set[Any]:
    """The names and numbers of a Service's ports (none for no Service)."""
    ports = ((service.data.get("spec") or {}).get("ports") or []) if service else []
    return {value for port in ports for value in (port.get("name"), port.get("port")) if value is not None}


def ingress_problems(manifests: Sequence[Manifest], expected: Optional[Set[Tuple[str, str]]] = None) -> List[str]:
    """The public Ingresses route exactly the public paths; the others the desk only."""
    expected = public_paths() if expected is None else expected
    problems = []
    services = {manifest.name: manifest for manifest in manifests if manifest.kind == "Service"}
    routed: Set[Tuple[str, str]] = set()
    for manifest in (manifest for manifest in manifests if manifest.kind == "Ingress"):
        spec = manifest.data.get("spec") or {}
        annotations = (manifest.data.get("metadata") or {}).get("annotations") or {}
        public = spec.get("ingressClassName") == INGRESS_CLASS_PUBLIC
        if spec.get("defaultBackend"):
            problems.append(f"{manifest.ref}: a default backend routes every path")
        paths = set()
        tls_hosts = {host for entry in spec.get("tls") or [] for host in entry.get("hosts") or []}
        for rule in spec.get("rules") or []:
            if public and rule.get("host") not in tls_hosts:
                problems.append(f"{manifest.ref}: host {rule.get('host')!r} without TLS")
            for path in (rule.get("http") or {}).get("paths") or []:
                paths.add((path.get("path"), path.get("pathType")))
                backend = (path.get("backend") or {}).get("service") or {}
                port = backend.get("port") or {}
                wanted = port.get("name", port.get("number"))
                if wanted not in service_ports(services.get(str(backend.get("name")))):
                    problems.append(
                        f"{manifest.ref}: {path.get('path')} goes to {backend.get('name')}:{wanted}, not a Service port"
                    )
                if public and path.get("path") == "/socket.io/" and annotations.get(AFFINITY) != "cookie":
                    problems.append(f"{manifest.ref}: /socket.io/ without cookie affinity ({AFFINITY})")
        if public:
            routed |= paths
            if BODY_SIZE not in annotations:
                problems.append(f"{manifest.ref}: no body size limit ({BODY_SIZE})")
        elif not paths <= DESK_PATHS:
            extra = ", ".join(sorted(path for path, _ in paths - DESK_PATHS))
            problems.append(f"{manifest.ref}: an internal Ingress routes only the desk (/agent/), not {extra}")
    for path, kind in sorted(routed - expected):
        problems.append(f"public Ingress routes {path} ({kind}), which the nginx front does not make public")
    for path, kind in sorted(expected - routed):
        problems.append(f"public Ingress does not route {path} ({kind}), which the nginx front makes public")
    return problems


def project_problems(manifests: Sequence[Manifest], nginx_paths: Optional[Set[Tuple[str, str]]] = None) -> List[str]:
    """zhiyin's own rules over the documents (the Secret template included)."""
    return (
        container_problems(manifests)
        + secret_problems(manifests)
        + environment_problems(manifests)
        + selector_problems(manifests)
        + namespace_problems(manifests)
        + ingress_problems(manifests, nginx_paths)
    )


# ---- Dockerfiles -------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(text: str) -> List[Instruction]:
    """A Dockerfile's instructions, continuation lines joined and comments dropped."""
    found = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        current += " " + stripped[:-1] if stripped.endswith("\\") else " " + stripped
        if not stripped.endswith("\\"):
            keyword, _, arguments = current.strip().partition(" ")
            found.append(Instruction(keyword.upper(), arguments.strip()))
            current = ""
    return found


def exec_form(arguments: str) -> Optional[List[str]]:
    """The JSON array of an exec-form CMD, None for the shell form."""
    try:
        value = json.loads(arguments)
    except json.JSONDecodeError:
        return None
    return [str(part) for part in value] if isinstance(value, list) else None


def dockerignore_patterns(path: Path) -> List[Tuple[bool, re.Pattern[str]]]:
    """(exception?, pattern) of each line of a .dockerignore, in order."""
    patterns: List[Tuple[bool, re.Pattern[str]]] = []
    if not path.is_file():
        return patterns
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        glob = line.lstrip("!").strip().strip("/")
        regex = ""
        index = 0
        while index < len(glob):
            if glob.startswith("**/", index):
                regex, index = regex + "(?:.*/)?", index + 3
            elif glob.startswith("**", index):
                regex, index = regex + ".*", index + 2
            elif glob[index] == "*":
                regex, index = regex + "[^/]*", index + 1
            elif glob[index] == "?":
                regex, index = regex + "[^/]", index + 1
            else:
                regex, index = regex + re.escape(glob[index]), index + 1
        patterns.append((exception, re.compile(f"^{regex}$")))
    return patterns


def ignored(relative: str, patterns: Sequence[Tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether the build context leaves out this path (or a folder above it); the last match wins."""
    parts = relative.strip("/").split("/")
    prefixes = ["/".join(parts[: count + 1]) for count in range(len(parts))]
    result = False
    for exception, pattern in patterns:
        if exception and pattern.match(relative.strip("/")):
            result = False
        elif not exception and any(pattern.match(prefix) for prefix in prefixes):
            result = True
    return result


def module_file(module: str, root: Path) -> Optional[Path]:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_packages(modules: Iterable[str], root: Path = PROJECT_ROOT) -> Set[str]:
    """The project's top-level packages that these modules import, directly or not (every import
    statement counts, also one inside a function)."""
    queue = [module for module in modules if module.split(".")[0] in FIRST_PARTY]
    seen: Set[str] = set()
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        # Importing a module runs the __init__ of each package above it.
        queue.extend(".".join(module.split(".")[:count]) for count in range(1, module.count(".") + 1))
        path = module_file(module, root)
        if path is None:
            continue
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: List[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            queue.extend(name for name in names if name.split(".")[0] in FIRST_PARTY and module_file(name, root))
    return {module.split(".")[0] for module in seen if module_file(module, root)}


def entry_modules(name: str, commands: Sequence[Sequence[str]], root: Path, endpoints: Optional[str]) -> List[str]:
    """The modules an image starts from: the `-m` module of each command that runs it (the
    server's, and the Jobs'), for Rasa the classes that credentials.yml, endpoints.yml and
    config.yml name; rasa-sdk loads every module of the actions package."""
    modules = []
    for command in commands:
        if "-m" in command[:-1]:
            module = command[command.index("-m") + 1]
            modules += [module, f"{module}.__main__"]
    command = commands[0] if commands else []
    if name == "actions":
        modules += ["actions"] + [f"actions.{path.stem}" for path in sorted((root / "actions").glob("*.py"))]
    if "--credentials" in command[:-1]:
        credentials = yaml.safe_load((root / command[command.index("--credentials") + 1]).read_text(encoding="utf-8"))
        modules += [key.rpartition(".")[0] for key in credentials or {} if "." in key]
    for text in (endpoints, (root / "config.yml").read_text(encoding="utf-8") if name == "rasa" else None):
        for found in re.findall(r"(?:type|name):\s*([a-z_]+(?:\.[A-Za-z_]+)+)", text or ""):
            modules.append(found.rpartition(".")[0])
    return modules


@dataclass
class ImageUse:
    """How the manifests run one of zhiyin's images."""

    server_commands: List[List[str]]  # the Deployments' (and StatefulSets') commands
    other_commands: List[List[str]]  # the Jobs' and CronJobs'
    ports: Set[Any]
    endpoints: Optional[str]


def image_use(name: str, manifests: Sequence[Manifest]) -> ImageUse:
    use = ImageUse([], [], set(), None)
    for pod in pods(manifests):
        for container in pod.containers(init=False):
            if image_name(str(container.get("image", ""))) != name:
                continue
            command = [str(part) for part in container.get("command") or container.get("args") or []]
            if pod.owner.kind in SERVER_KINDS:
                use.server_commands.append(command)
                use.ports |= {port.get("containerPort") for port in container.get("ports") or []}
                use.endpoints = use.endpoints or mounted_endpoints(pod, container, manifests)
            else:
                use.other_commands.append(command)
    return use


def dockerfile_problems(
    dockerfile: Path,
    manifests: Sequence[Manifest],
    root: Path = PROJECT_ROOT,
    dockerignore: Optional[Path] = None,
) -> List[str]:
    """Static checks of one image's Dockerfile against the repository and the manifests."""
    name = dockerfile.name.split(".")[0]  # rasa.Dockerfile -> rasa
    where = f"{dockerfile.name}"
    steps = instructions(dockerfile.read_text(encoding="utf-8"))
    patterns = dockerignore_patterns(dockerignore or root / ".dockerignore")
    problems = []
    stages: Set[str] = set()
    copied: Set[str] = set()
    for step in steps:
        words = step.arguments.split()
        if step.keyword == "FROM":
            image = words[0] if words else ""
            if image not in stages and not re.search(r":\d+\.\d+\.\d+|@sha256:", image):
                problems.append(f"{where}: base image {image!r} is not pinned to an exact version")
            if len(words) == 3 and words[1].upper() == "AS":
                stages.add(words[2])
        elif step.keyword in ("COPY", "ADD"):
            parts = exec_form(step.arguments) or words
            flags = [part for part in parts if part.startswith("--")]
            if step.keyword == "ADD":
                problems.append(f"{where}: ADD {step.arguments}: use COPY")
            if any(flag.startswith("--from") for flag in flags):
                continue
            for source in (part for part in parts[:-1] if not part.startswith("--")):
                relative = source.strip("/").removeprefix("./") or "."
                if "requirements-dev" in relative:
                    problems.append(f"{where}: copies the dev requirements ({relative})")
                if not (root / relative).exists() and relative not in BUILT:
                    problems.append(f"{where}: COPY {source}: not in the repository")
                elif ignored(relative, patterns):
                    problems.append(f"{where}: COPY {source}: left out of the build context by .dockerignore")
                copied.add(relative.split("/")[0])
                copied.add(relative)
        elif step.keyword == "RUN":
            for install in re.findall(r"pip install([^&;|]*)", step.arguments):
                tokens = shlex.split(install)
                wanted = [token for token in tokens if not token.startswith("-")]
                allowed = {"pip"} | {token for token in wanted if token.endswith("requirements.txt")}
                if "requirements-dev" in install or set(wanted) - allowed:
                    problems.append(f"{where}: installs more than requirements.txt: pip install{install}")
    last = {step.keyword: step for step in steps}
    user = last["USER"].arguments.split(":")[0] if "USER" in last else ""
    if not user.isdigit() or int(user) == 0:
        problems.append(f"{where}: the final USER is not a numeric non-root uid ({user or 'none'})")
    if "HEALTHCHECK" not in last:
        problems.append(f"{where}: no HEALTHCHECK")
    env = " ".join(step.arguments for step in steps if step.keyword == "ENV")
    if not re.search(r"\bRASA_TELEMETRY_ENABLED=false\b", env):
        problems.append(f"{where}: RASA_TELEMETRY_ENABLED=false is not set")
    command = exec_form(last["CMD"].arguments) if "CMD" in last else None
    if command is None:
        problems.append(f"{where}: no CMD in exec form")
        return problems
    use = image_use(name, manifests)
    if not use.server_commands:
        problems.append(f"{where}: no Deployment runs the image zhiyin/{name}")
    for deployed in use.server_commands:
        if deployed and deployed != command:
            problems.append(f"{where}: CMD {command} differs from the Deployment's command {deployed}")
    exposed = {int(port.split("/")[0]) for step in steps if step.keyword == "EXPOSE" for port in step.arguments.split()}
    if not exposed or not use.ports <= exposed:
        problems.append(f"{where}: EXPOSE {sorted(exposed)} does not match the Deployment's ports {sorted(use.ports)}")
    for option in ("--model", "--endpoints", "--credentials"):
        if option in command[:-1]:
            needs = command[command.index(option) + 1].removeprefix("/app/")
            if needs not in copied:
                problems.append(f"{where}: {option} {needs} is not copied into the image")
    needed = imported_packages(entry_modules(name, [command, *use.other_commands], root, use.endpoints), root)
    for package in sorted(needed - copied):
        problems.append(f"{where}: the server imports {package}/, which is not copied into the image")
    return problems


# ---- all of it ---------------------------------------------------------------------------


def validate(
    directory: Path = K8S_DIR,
    docker_dir: Path = DOCKER_DIR,
    version: str = KUBERNETES_VERSION,
    root: Path = PROJECT_ROOT,
) -> List[str]:
    """Every problem of the manifests, the Secret template and the Dockerfiles."""
    try:
        manifests = load(directory, template=True)
    except (ManifestError, yaml.YAMLError) as error:
        return [str(error)]
    problems = schema_problems(manifests, version) + project_problems(manifests)
    for dockerfile in sorted(docker_dir.glob("*.Dockerfile")):
        problems += dockerfile_problems(dockerfile, manifests, root)
    return problems


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["render", "validate"])
    parser.add_argument("--dir", type=Path, default=K8S_DIR, help="the kustomization folder (default: deploy/k8s)")
    parser.add_argument("--docker-dir", type=Path, default=DOCKER_DIR, help="the Dockerfiles (default: deploy/docker)")
    parser.add_argument(
        "--kubernetes-version", default=KUBERNETES_VERSION, help=f"schemas (default: {KUBERNETES_VERSION})"
    )
    args = parser.parse_args(argv)
    if args.command == "render":
        try:
            sys.stdout.write(render(args.dir))
        except ManifestError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    problems = validate(args.dir, args.docker_dir, args.kubernetes_version)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problems", file=sys.stderr)
        return 1
    manifests = load(args.dir, template=True)
    kinds = ", ".join(sorted({manifest.kind for manifest in manifests}))
    images = ", ".join(path.name for path in sorted(args.docker_dir.glob("*.Dockerfile")))
    print(
        f"{len(manifests)} documents ({kinds}) valid against Kubernetes {args.kubernetes_version} (strict) "
        f"and zhiyin's rules; Dockerfiles checked: {images}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
