"""cluster/: the autoscaler config against the schema Ray ships (and the checks `ray up` runs), and the
KubeRay manifests against the fields the RayCluster and RayJob CRDs (ray.io/v1) require. No Python package
ships those CRDs' OpenAPI schemas, so the KubeRay checks are the CRDs' required fields and types, written
out here: a field KubeRay requires, a string map, a group's replica bounds, GPUs where GPU work goes."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "cluster"


def load(name: str) -> dict:
    return yaml.safe_load((CLUSTER / name).read_text())


@pytest.fixture(scope="module")
def autoscaler() -> dict:
    return load("autoscaler.yaml")


@pytest.fixture(scope="module")
def raycluster() -> dict:
    return load("kuberay/raycluster.yaml")


def test_the_autoscaler_config_matches_the_schema_ray_ships(autoscaler):
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    jsonschema.validate(autoscaler, schema)


def test_the_autoscaler_config_passes_what_ray_up_checks(autoscaler):
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(autoscaler))


def test_the_autoscaler_has_cpu_nodes_for_simulators_and_gpu_nodes_for_inference_and_training(autoscaler):
    types = autoscaler["available_node_types"]
    assert types[autoscaler["head_node_type"]]["resources"].get("CPU") == 0  # drivers only
    workers = {name: t for name, t in types.items() if name != autoscaler["head_node_type"]}
    cpu_only = [t for t in workers.values() if not t["resources"].get("GPU")]
    gpu = [t for t in workers.values() if t["resources"].get("GPU")]
    assert cpu_only and cpu_only[0]["min_workers"] >= 1  # simulators need somewhere to run from the start
    assert len(gpu) >= 2  # inference and training scale separately
    assert all(t["min_workers"] <= t["max_workers"] for t in workers.values())
    assert sum(t["max_workers"] for t in workers.values()) <= autoscaler["max_workers"]


def groups(cluster_spec: dict) -> list[tuple[str, dict]]:
    """(group name, group spec) for the head and each worker group."""
    return [("head", cluster_spec["headGroupSpec"])] + [(g["groupName"], g) for g in cluster_spec["workerGroupSpecs"]]


def test_the_raycluster_has_what_the_crd_requires(raycluster):
    assert raycluster["apiVersion"] == "ray.io/v1" and raycluster["kind"] == "RayCluster"
    spec = raycluster["spec"]
    assert spec["rayVersion"] == ray.__version__  # the image's Ray must be the one jobs are submitted with
    assert spec.get("authOptions", {}).get("mode", "disabled") in ("disabled", "token")
    assert "template" in spec["headGroupSpec"]
    names = [g["groupName"] for g in spec["workerGroupSpecs"]]
    assert len(names) == len(set(names))
    for group in spec["workerGroupSpecs"]:
        assert {"groupName", "minReplicas", "maxReplicas", "template"} <= set(group)
        assert group["minReplicas"] <= group.get("replicas", group["minReplicas"]) <= group["maxReplicas"]
    for name, group in groups(spec):
        assert all(isinstance(v, str) for v in group.get("rayStartParams", {}).values()), name  # map[string]string
        containers = group["template"]["spec"]["containers"]
        assert containers and all(c.get("name") and c.get("image") for c in containers), name
        mounts = {m["name"] for c in containers for m in c.get("volumeMounts", [])}
        volumes = {v["name"] for v in group["template"]["spec"].get("volumes", [])}
        assert mounts <= volumes, f"{name}: mounts {mounts - volumes} have no volume"


def test_the_raycluster_has_cpu_groups_for_simulators_and_gpu_groups_for_inference_and_training(raycluster):
    spec = raycluster["spec"]
    assert spec["headGroupSpec"]["rayStartParams"].get("num-cpus") == "0"

    def gpus(group: dict) -> int:
        limits = [c["resources"].get("limits", {}) for c in group["template"]["spec"]["containers"]]
        return sum(int(limit.get("nvidia.com/gpu", 0)) for limit in limits)

    workers = spec["workerGroupSpecs"]
    assert [g for g in workers if gpus(g) == 0 and g["minReplicas"] >= 1]
    assert len([g for g in workers if gpus(g) > 0]) >= 2


def test_the_rayjob_runs_a_job_entrypoint_on_the_raycluster(raycluster):
    job = load("kuberay/rayjob.yaml")
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob"
    spec = job["spec"]
    assert isinstance(spec["entrypoint"], str)
    assert spec["clusterSelector"] == {"ray.io/cluster": raycluster["metadata"]["name"]}
    assert spec.get("submissionMode", "K8sJobMode") in ("K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode")
    python, script, *_ = shlex.split(spec["entrypoint"])
    assert python == "python" and script.startswith("/app/jobs/")  # the image holds the project at /app
    assert (ROOT / script.removeprefix("/app/")).is_file()
