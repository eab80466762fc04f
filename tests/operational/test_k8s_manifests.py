"""deploy/k8s/: every manifest valid against Kubernetes 1.30's schema (kubernetes-validate,
strict: an unknown or misspelt field fails), and the facts that tie them together: the probes
ask Streamlit's health endpoint on the port the container serves, the Service selects the
Deployment's pods, the Ingress routes to the Service's port with cookie affinity, the
autoscaler scales this Deployment on CPU, and the resources match the Dockerfile's server."""

import tomllib
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from resnet_viz.runtime.memory import CPU_MEMORY_BUDGET_BYTES

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
VERSION = "1.30"
MANIFESTS = sorted(K8S.glob("*.yaml"))


def documents() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def one(kind: str) -> dict:
    found = [doc for doc in documents() if doc["kind"] == kind]
    assert len(found) == 1, f"{len(found)} {kind} manifests"
    return found[0]


def container() -> dict:
    (app,) = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return app


def dockerfile_port() -> int:
    lines = (REPO / "Dockerfile").read_text().splitlines()
    (expose,) = [line for line in lines if line.startswith("EXPOSE ")]
    return int(expose.split()[1])


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_every_manifest_is_valid_kubernetes(path):
    docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_validator_rejects_a_misspelt_field():
    deployment = one("Deployment")
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSION, strict=True)


def test_the_set_is_complete():
    kinds = sorted(doc["kind"] for doc in documents())
    assert kinds == ["Deployment", "HorizontalPodAutoscaler", "Ingress", "Service"]


def test_probes_ask_streamlits_health_on_the_served_port():
    app = container()
    ports = {port["name"]: port["containerPort"] for port in app["ports"]}
    assert ports == {"http": dockerfile_port()}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = app[probe]["httpGet"]
        assert check["path"] == "/_stcore/health", probe
        assert ports.get(check["port"], check["port"]) == dockerfile_port(), probe


def test_the_service_selects_the_deployments_pods():
    deployment, service = one("Deployment"), one("Service")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in container()["ports"]}


def test_the_ingress_routes_to_the_service_with_cookie_affinity():
    ingress, service = one("Ingress"), one("Service")
    notes = ingress["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert notes[prefix + "affinity"] == "cookie"
    assert notes[prefix + "affinity-mode"] == "persistent"
    assert notes[prefix + "session-cookie-name"]
    assert int(notes[prefix + "session-cookie-max-age"]) >= 3 * 3600  # a lecture and more
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(notes[prefix + timeout]) >= 3600, timeout  # a lecture-long websocket
    body = notes[prefix + "proxy-body-size"]
    assert body.endswith("m")
    assert int(body[:-1]) >= max_upload_mb()
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/"
    assert path["pathType"] == "Prefix"
    backend = path["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    (port,) = service["spec"]["ports"]
    assert backend["port"] in ({"name": port["name"]}, {"number": port["port"]})


def max_upload_mb() -> int:
    """Streamlit's own upload cap, in MB (.streamlit/config.toml)."""
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    return config["server"]["maxUploadSize"]


def test_the_autoscaler_scales_this_deployment_on_cpu():
    hpa, deployment = one("HorizontalPodAutoscaler"), one("Deployment")
    target = hpa["spec"]["scaleTargetRef"]
    assert target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "resnet-viz"}
    assert target["name"] == deployment["metadata"]["name"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    utilisation = metric["resource"]["target"]["averageUtilization"]
    # Reruns run on one core (the GIL): a saturated pod is at 1 / requested cores.
    cores = float(container()["resources"]["requests"]["cpu"])
    assert 0 < utilisation < 100 / cores
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_resources_fit_the_apps_own_memory_budget():
    resources = container()["resources"]
    assert resources["requests"]["cpu"] == "2"
    request, limit = (_bytes(resources[k]["memory"]) for k in ("requests", "limits"))
    assert 1024**3 <= request <= limit  # an ImageNet model is ~1 GB on its own
    assert limit > CPU_MEMORY_BUDGET_BYTES  # one heavy job at the refusal threshold fits


def _bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
    return int(quantity[:-2]) * units[quantity[-2:]]
