"""Ray's dashboard: every stage's ``agentscaler_*`` series, read back from the nodes' Prometheus endpoints.

The suite's Ray is shared by every test, so each check compares against a baseline read before the
stage ran, series by series (a series is a name, its tags and the process that reported it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest
from envs_helpers import make_run, shop_tools
from prometheus_client.parser import text_string_to_metric_families

from agentscaler import metrics
from agentscaler.envs import build_envs
from agentscaler.filters import run_filters
from agentscaler.rollouts import RolloutConfig, run_rollouts
from agentscaler.sim import SimulatorPool
from agentscaler.tasks import TaskConfig, build_tasks

DASHBOARD = Path(__file__).resolve().parents[1] / "cluster" / "grafana" / "agentscaler_dashboard.json"
Key = tuple[str, frozenset]


def scrape(ray) -> Counter[Key]:
    """Every ``ray_agentscaler_*`` sample that the alive nodes' endpoints serve, by name and labels."""
    samples: Counter[Key] = Counter()
    for node in ray.nodes():
        if not node["Alive"]:
            continue
        url = f"http://{node['NodeManagerAddress']}:{node['MetricsExportPort']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            text = response.read().decode()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name.startswith("ray_agentscaler_"):
                    samples[sample.name, frozenset(sample.labels.items())] += sample.value
    return samples


class Since:
    """What the endpoints gained since a settled baseline (read until unchanged over 1.5 report intervals)."""

    def __init__(self, ray, settle_s: float = 1.5):
        self.ray = ray
        self.base, previous = scrape(ray), None
        while self.base != previous:
            time.sleep(settle_s)
            previous, self.base = self.base, scrape(ray)

    def read(self) -> dict[Key, float]:
        return {key: value - self.base.get(key, 0) for key, value in scrape(self.ray).items()}

    def until(self, expected: dict[tuple, float]) -> dict[Key, float]:
        """Wait until each ``series(name, **tags)`` has gained what ``expected`` says; returns the gains."""
        poll(lambda: {key: total(self.read(), *key) for key in expected}, expected)
        return self.read()


def poll(read: Callable[[], object], expected: object, timeout_s: float = 60) -> None:
    """Read until ``read()`` gives ``expected`` (Ray exports on an interval, and two values recorded one
    after the other may be exported apart); fail with the last value read."""
    deadline = time.monotonic() + timeout_s
    while (got := read()) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert got == expected


def total(samples: dict[Key, float], name: str, tags: tuple = ()) -> float:
    """The sum over the samples named ``name`` whose labels include ``tags`` ((key, value) pairs)."""
    return sum(value for (n, labels), value in samples.items() if n == name and set(tags) <= labels)


def series(name: str, **tags: str) -> tuple:
    return name, tuple(sorted(tags.items()))


@pytest.fixture
def played(tmp_path, ray_session):
    """A small run's tasks (recorded in the driver), played by the teacher on a pool that outlives the run."""
    since = Since(ray_session)
    run = make_run(tmp_path, [shop_tools(), shop_tools()[:4]])
    build_envs(run, rows=10, workers=1)
    build_tasks(run, TaskConfig(per_domain=6, seed=1), workers=1)
    pool = SimulatorPool(run.path, num_actors=1)  # kept alive: a killed actor takes its last interval with it
    try:
        summary = run_rollouts(run, RolloutConfig(actors=1, concurrency=8, flush_every=4, samples=2), pool=pool)
        yield run, summary, since
    finally:
        pool.shutdown()


def test_tasks_rollouts_simulators_and_filters_reach_the_prometheus_endpoint(played):
    run, summary, since = played
    rows = run.read_rollouts()
    tasks_sampled = run.read_summary(run.tasks_summary)["counts"]
    calls, errors = sum(r["num_tool_calls"] for r in rows), sum(r["num_tool_errors"] for r in rows)
    assert len(rows) == summary["episodes"] > 0 and calls > 0
    expected = {series("ray_agentscaler_tasks_sampled_total", result=result): float(n)
                for result, n in tasks_sampled.items()}
    expected |= {
        series("ray_agentscaler_episodes_started_total", agent="teacher"): len(rows),
        series("ray_agentscaler_episodes_failed_total"): 0,
        series("ray_agentscaler_episode_turns_count", agent="teacher"): len(rows),
        series("ray_agentscaler_episode_turns_sum", agent="teacher"): sum(r["num_turns"] for r in rows),
        series("ray_agentscaler_tool_calls_total", agent="teacher", result="ok"): calls - errors,
        series("ray_agentscaler_tool_calls_total", agent="teacher", result="error"): errors,
        series("ray_agentscaler_sim_steps_total", host="sim-host-0"): calls,
        series("ray_agentscaler_sim_step_errors_total", host="sim-host-0"): errors,
    }
    for status, n in Counter(r["status"] for r in rows).items():
        expected[series("ray_agentscaler_episodes_finished_total", agent="teacher", status=status)] = n
    gained = since.until({key: float(value) for key, value in expected.items()})
    turns = Counter()
    for (name, labels), value in gained.items():
        if name == "ray_agentscaler_episode_turns_bucket" and ("agent", "teacher") in labels:
            turns[float(dict(labels)["le"])] += value
    assert turns == {le: sum(r["num_turns"] <= le for r in rows) for le in turns} and len(turns) > 1
    # the pool's actor, the one whose steps grew, has no episode left alive
    workers = {dict(labels)["WorkerId"] for (name, labels), value in gained.items()
               if name == "ray_agentscaler_sim_steps_total" and value > 0}
    assert workers
    poll(lambda: {dict(labels)["WorkerId"]: value for (name, labels), value in scrape(since.ray).items()
                  if name == "ray_agentscaler_sim_live_episodes" and dict(labels)["WorkerId"] in workers},
         {worker: 0.0 for worker in workers})

    report = run_filters(run)
    funnel = {}
    for stage in report["stages"]:
        funnel[series("ray_agentscaler_filter_trajectories_total", stage=stage["stage"], outcome="passed")] = \
            float(stage["out"])
        funnel[series("ray_agentscaler_filter_trajectories_total", stage=stage["stage"], outcome="rejected")] = \
            float(stage["rejected"])
    assert report["input"] == len(rows) and report["kept"] > 0
    since.until(funnel)


def test_a_backend_counts_its_tokens(ray_session, tmp_path):
    import asyncio

    from agentscaler.llm.tiny import build_tiny_model
    from agentscaler.llm.transformers_backend import TransformersBackend

    since = Since(ray_session)
    backend = TransformersBackend(build_tiny_model(tmp_path / "tiny"))
    try:
        replies = [asyncio.run(backend.chat([{"role": "user", "content": f"Hello {i}"}], max_tokens=6))
                   for i in range(2)]
    finally:
        backend.close()
    tag = {"backend": backend.name}
    gained = since.until({
        series("ray_agentscaler_llm_generated_tokens_total", **tag): float(sum(r.completion_tokens for r in replies)),
        series("ray_agentscaler_llm_prompt_tokens_total", **tag): float(sum(r.prompt_tokens for r in replies)),
        series("ray_agentscaler_llm_call_seconds_count", **tag): 2.0,
    })
    assert total(gained, *series("ray_agentscaler_llm_call_seconds_sum", **tag)) > 0
    poll(lambda: total(scrape(ray_session), *series("ray_agentscaler_llm_tokens_per_second", **tag)) > 0, True)


def test_recording_outside_ray_is_dropped_not_an_error():
    code = ("from agentscaler import metrics\n"
            "for s in metrics.SERIES.values():\n"
            "    tags = {t: 'x' for t in s.tags}\n"
            "    getattr(s, {'Counter': 'inc', 'Gauge': 'set', 'Histogram': 'observe'}[s.kind])(2, **tags)\n"
            "import ray; assert not ray.is_initialized()\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_dashboard_draws_every_series_and_only_defined_ones():
    dashboard = json.loads(DASHBOARD.read_text())
    exported = {name for s in metrics.SERIES.values() for name in s.exported}
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    named = {name for expr in expressions for name in re.findall(r"\bray_agentscaler_\w+", expr)}
    assert named <= exported, named - exported
    drawn = {s.name for s in metrics.SERIES.values() if set(s.exported) & named}
    assert drawn == set(metrics.SERIES), set(metrics.SERIES) - drawn
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    assert all(panel["datasource"] == "${datasource}" for panel in dashboard["panels"] if panel["type"] != "row")


@pytest.mark.slow  # a Ray Train run of two steps: a minute or more on 2 loaded cores
def test_training_steps_reach_the_prometheus_endpoint(ray_session, tmp_path):
    from train_helpers import export_row, short_row_preset, trajectory

    from agentscaler.llm.tiny import build_tiny_model
    from agentscaler.train.trainer import train_stage

    since = Since(ray_session)
    preset = short_row_preset()
    rows = [export_row(f"t{i}-r0", "general", trajectory(f"A{i}", f"B{3 * i + 1}")) for i in range(12)]
    out = tmp_path / "metrics-stage"
    train_stage(rows, build_tiny_model(tmp_path / "tiny"), out, preset, preset.stages["general"], stop_after_steps=2)
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    tag = {"stage": out.name}
    since.until({series("ray_agentscaler_train_steps_total", **tag): float(len(steps)),
                 series("ray_agentscaler_train_tokens_total", **tag): float(sum(s["tokens"] for s in steps)),
                 series("ray_agentscaler_train_step_seconds_count", **tag): float(len(steps))})
    gauges = [series("ray_agentscaler_train_loss", **tag), series("ray_agentscaler_train_tokens_per_second", **tag)]
    poll(lambda: [total(scrape(ray_session), *key) for key in gauges],
         pytest.approx([steps[-1]["loss"], steps[-1]["tokens"] / steps[-1]["seconds"]]))
