"""Ray jobs (``jobs/``) as users send them: ``ray job submit --working-dir .`` to a cluster started with
``ray start`` (token auth, as ``ray start --head`` has by default), through the job submission API."""

from __future__ import annotations

import os
import runpy
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import pyarrow.parquet as pq
import pytest
import requests

from agentscaler.artifacts import RunDir

ROOT = Path(__file__).resolve().parents[1]
PETSTORE = ROOT / "tests" / "fixtures" / "ingest" / "petstore.yaml"
STAGES = ("ingest", "graph", "domains", "envs", "tasks", "rollouts", "filters", "export", "train", "eval")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    """Ray nodes on this machine, each a ``ray start --block`` subprocess with its own ports; they share one
    temp dir (a second node's default), token auth with a token of its own. ``stop`` ends exactly these."""

    def __init__(self) -> None:
        self.temp = tempfile.mkdtemp(prefix="rj", dir="/tmp")  # short: Unix socket paths live under it
        self.token = secrets.token_hex(16)
        inherited = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a job's driver joins *this* cluster
        self.env = {**inherited, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token,
                    "RAY_USAGE_STATS_ENABLED": "0", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        self.gcs_port, self.dashboard_port = free_port(), free_port()
        self.nodes: list[subprocess.Popen] = []

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def add_node(self) -> None:
        """The head first, then workers joining it; returns once the cluster counts the new node."""
        own = ["--temp-dir", self.temp, "--num-cpus", "2", "--object-store-memory", str(300 << 20),
               "--dashboard-agent-listen-port", str(free_port()), "--dashboard-agent-grpc-port", str(free_port()),
               "--runtime-env-agent-port", str(free_port()), "--metrics-export-port", str(free_port()),
               "--node-manager-port", str(free_port()), "--object-manager-port", str(free_port())]
        role = (["--address", f"127.0.0.1:{self.gcs_port}"] if self.nodes else
                ["--head", "--port", str(self.gcs_port), "--dashboard-port", str(self.dashboard_port),
                 "--ray-client-server-port", str(free_port()), "--include-dashboard", "true"])
        self.nodes.append(subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--block", *role, *own],
                                           env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                           start_new_session=True))
        deadline = time.monotonic() + 180
        while self.alive_nodes() < len(self.nodes):
            assert time.monotonic() < deadline, f"node {len(self.nodes)} did not join within 180 s"
            assert self.nodes[-1].poll() is None, "ray start exited"
            time.sleep(2)

    def alive_nodes(self) -> int:
        try:
            reply = requests.get(f"{self.dashboard}/api/v0/nodes", headers=self.headers, timeout=10)
        except requests.ConnectionError:
            return 0
        if reply.status_code != 200:
            return 0
        return sum(node["state"] == "ALIVE" for node in reply.json()["data"]["result"]["result"])

    def client(self):
        from ray.job_submission import JobSubmissionClient

        with mock.patch.dict(os.environ):  # RAY_ADDRESS, when set, would override the address given here
            os.environ.pop("RAY_ADDRESS", None)
            return JobSubmissionClient(self.dashboard, headers=self.headers)

    def stop(self) -> None:
        """SIGTERM each ``ray start --block``, which stops the node's processes; then its whole session."""
        for node in reversed(self.nodes):
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
        shutil.rmtree(self.temp, ignore_errors=True)


def submit(cluster: LocalCluster, entrypoint: str, timeout_s: float = 600) -> tuple[str, str]:
    """Submit ``entrypoint`` with this checkout as the working dir, as ``ray job submit --working-dir .``
    does; returns (final status, logs)."""
    from ray.job_submission import JobStatus

    client = cluster.client()
    job = client.submit_job(entrypoint=entrypoint, runtime_env={"working_dir": str(ROOT)})
    deadline = time.monotonic() + timeout_s
    while (status := client.get_job_status(job)) not in {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED}:
        assert time.monotonic() < deadline, f"{entrypoint}: still {status} after {timeout_s} s"
        time.sleep(2)
    return str(status), client.get_job_logs(job)


@pytest.fixture(scope="module")
def head():
    cluster = LocalCluster()
    try:
        cluster.add_node()
        yield cluster
    finally:
        cluster.stop()


def test_every_stage_has_a_job():
    assert sorted(path.stem for path in (ROOT / "jobs").glob("*.py")) == sorted([*STAGES, "pipeline", "stage_job"])


def run_job(job: str, args: list[str], monkeypatch) -> None:
    """``python jobs/JOB.py ARGS`` in this process (the job moves into its run directory: restored after)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.syspath_prepend(str(ROOT / "jobs"))
    monkeypatch.setattr(sys, "argv", [f"jobs/{job}.py", *args])
    runpy.run_path(str(ROOT / "jobs" / f"{job}.py"), run_name="__main__")


@pytest.mark.parametrize("job", [s for s in STAGES if s != "train"] + ["pipeline"])
def test_an_unknown_config_key_stops_a_job_before_it_starts_naming_the_key(job, tmp_path, monkeypatch, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("graph: {tua: 0.8}\n" if job == "pipeline" else "tua: 0.8\n")
    run = ["--out" if job in ("ingest", "pipeline") else "--run", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as stopped:
        run_job(job, [*run, "--config", str(config)], monkeypatch)
    assert stopped.value.code == 2
    assert "tua" in capsys.readouterr().err


def test_a_submitted_job_refuses_a_relative_run_dir_that_would_live_in_its_working_dir_copy(monkeypatch, capsys):
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", "{}")  # as `ray job submit` starts a driver
    with pytest.raises(SystemExit) as stopped:
        run_job("domains", ["--run", "runs/demo"], monkeypatch)
    assert stopped.value.code == 2
    assert "absolute path" in " ".join(capsys.readouterr().err.replace("│", " ").split())  # rich wraps it in a box


def test_an_unknown_key_in_the_train_jobs_config_its_preset_fails_it_before_data_or_ray(tmp_path, monkeypatch):
    (tmp_path / "preset.yaml").write_text("tua: 0.8\n")  # and no exported data: the preset is read first
    with pytest.raises(ValueError, match="tua"):
        run_job("train", ["--run", str(tmp_path), "--model", str(tmp_path), "--config", str(tmp_path / "preset.yaml")],
                monkeypatch)


@pytest.mark.slow
def test_a_job_submitted_to_a_token_auth_cluster_writes_its_artifact(head, tmp_path):
    status, logs = submit(head, f"python jobs/ingest.py {PETSTORE} --out {tmp_path / 'run'}")
    assert status == "SUCCEEDED", logs
    assert pq.read_table(tmp_path / "run" / "tools.parquet").num_rows > 0


@pytest.mark.slow
def test_an_unknown_config_key_fails_the_job_naming_the_key(head, tmp_path):
    (tmp_path / "graph.yaml").write_text("tua: 0.8\n")
    status, logs = submit(head, f"python jobs/graph.py --run {tmp_path / 'run'} --config {tmp_path / 'graph.yaml'}")
    assert status == "FAILED"
    assert "tua" in logs and "Extra inputs are not permitted" in logs
    assert not (tmp_path / "run" / "graph.parquet").exists()


UNPACK_AGAIN_MID_STAGE = """
import shutil, sys
from pathlib import Path

copy, saved, run = sys.argv[1:]
sys.path[0] = f"{copy}/jobs"
from stage_job import as_job


def stage(run: Path) -> None:
    shutil.rmtree(copy)  # what a second node's runtime-env agent does to the job's package
    shutil.copytree(saved, copy)
    import torch

    assert torch.ones(2) @ torch.ones(2) == 2


as_job(stage)(run=Path(run))
"""


def working_dir_copy(tmp_path: Path) -> tuple[Path, Path]:
    """(the job's package as submitted, the copy Ray unpacked it to): just jobs/, agentscaler is installed."""
    saved, copy = tmp_path / "package", tmp_path / "_ray_pkg_copy"
    shutil.copytree(ROOT / "jobs", saved / "jobs")
    shutil.copytree(saved, copy)
    return saved, copy


def test_a_stage_job_works_from_its_run_dir_not_the_copy_ray_may_unpack_again(tmp_path):
    """The cause of the two-node crash, without Ray: a driver left in a directory that is deleted and unpacked
    again has no current directory, and oneMKL (in libtorch_cpu) cannot initialize there."""
    saved, copy = working_dir_copy(tmp_path)
    done = subprocess.run([sys.executable, "-c", UNPACK_AGAIN_MID_STAGE, str(copy), str(saved), str(tmp_path / "run")],
                          cwd=copy, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


REPLACE_THE_COPY_ONCE_RAY_IS_UP = """
import os, runpy, shutil, sys
import ray

copy, saved, script, *args = sys.argv[1:]
start = ray.init


def init(*a, **k):  # what a second node's runtime-env agent does: delete the package and unpack it again
    context = start(*a, **k)
    shutil.rmtree(copy)
    shutil.copytree(saved, copy)
    return context


ray.init = init
sys.argv = [script, *args]
sys.path[0] = os.path.dirname(script)
runpy.run_path(script, run_name="__main__")
"""


@pytest.mark.slow
def test_the_pipeline_job_outlives_its_working_dir_copy_being_unpacked_again(ray_session, tmp_path):
    """The two-node crash, through jobs/pipeline.py: on one machine, a second node's runtime-env agent deletes
    the job's working-dir copy and unpacks it again while the driver runs in it; the driver then died at the
    graph stage's first torch call (oneMKL: "Cannot load .../libtorch_cpu.so", exit 139)."""
    saved, copy = working_dir_copy(tmp_path)
    run = tmp_path / "run"
    env = {**os.environ, "RAY_ADDRESS": ray_session.get_runtime_context().gcs_address}
    done = subprocess.run([sys.executable, "-c", REPLACE_THE_COPY_ONCE_RAY_IS_UP, str(copy), str(saved),
                           str(copy / "jobs" / "pipeline.py"), str(PETSTORE), "--out", str(run), "--until", "graph",
                           "--set", "graph.embedder=hashing"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "oneMKL" not in done.stderr
    assert (run / "graph.parquet").exists()


@pytest.mark.slow
def test_the_pipeline_job_on_two_nodes_sharing_a_machine(tmp_path):
    """The issue's two-node run: the head serves a job, a second node joins, then the pipeline job runs across
    both (before the fix it died right after the embedding stage) and its stages' work lands on both.
    About 8 minutes on 2 busy cores."""
    cluster = LocalCluster()
    try:
        cluster.add_node()
        status, logs = submit(cluster, f"python jobs/ingest.py {PETSTORE} --out {tmp_path / 'warm'}")
        assert status == "SUCCEEDED", logs
        cluster.add_node()
        status, logs = submit(cluster, f"python jobs/pipeline.py --out {tmp_path / 'run'}", timeout_s=1200)
        assert status == "SUCCEEDED", logs
        assert "oneMKL" not in logs
        run = RunDir(tmp_path / "run")
        assert pq.read_table(run.export).num_rows > 0
        spread = [run.envs_summary, run.tasks_summary, run.rollouts_summary]  # the stages that fan out most
        assert all(len(run.read_summary(summary)["nodes"]) == 2 for summary in spread)
    finally:
        cluster.stop()
