"""Metrics of every stage on Ray's dashboard (``ray.util.metrics``), named ``agentscaler_*``, defined here only.

Each series is a module constant; a stage records with one call, tags as keywords:

    metrics.EPISODES_FINISHED.inc(agent="teacher", status="completed", outcome="refuse")
    metrics.TRAIN_LOSS.set(1.93, stage="general")

Ray's metric object is made on first use in each process, so importing this module costs nothing
and the series can be module constants that travel to Ray workers. A value recorded in a process
that is no Ray worker (no ``ray.init``: a test, ``agentscaler serve``, a process-pool child) is
dropped by Ray, not an error. Ray's agent on each node serves the series to Prometheus as
``ray_<name>`` (counters ``ray_<name>_total``; histograms ``_bucket``, ``_sum``, ``_count``, the sum
rebuilt from the buckets' midpoints), refreshed every ``metrics_report_interval_ms`` (10 s by
default). ``cluster/grafana/agentscaler_dashboard.json`` draws them.
"""

from __future__ import annotations

import functools
from typing import Mapping

SERIES: dict[str, "Series"] = {}


class Series:
    """One named series with its tag keys; ``ray.util.metrics``' object is made lazily, per process."""

    kind: str  # the class name in ray.util.metrics

    def __init__(self, name: str, description: str, tags: tuple[str, ...], **options):
        if name in SERIES:
            raise ValueError(f"metric {name} is defined twice")
        self.name, self.description, self.tags, self.options = name, description, tags, options
        SERIES[name] = self

    @functools.cached_property
    def _metric(self):
        import ray.util.metrics

        return getattr(ray.util.metrics, self.kind)(self.name, description=self.description, tag_keys=self.tags,
                                                    **self.options)

    @property
    def exported(self) -> tuple[str, ...]:
        """The names Prometheus sees."""
        return (f"ray_{self.name}",)

    @staticmethod
    def _tags(tags: Mapping[str, object]) -> dict[str, str]:
        return {key: str(value) for key, value in tags.items()}


class Counter(Series):
    kind = "Counter"

    def inc(self, value: float = 1, **tags: object) -> None:
        if value:  # Ray refuses an increment of 0
            self._metric.inc(float(value), self._tags(tags))

    def inc_each(self, counts: Mapping[str, float], tag: str, **tags: object) -> None:
        """Add each of ``counts`` under its key as the value of ``tag``."""
        for key, value in counts.items():
            self.inc(value, **{tag: key}, **tags)

    @property
    def exported(self) -> tuple[str, ...]:
        return (f"ray_{self.name}_total",)


class Gauge(Series):
    kind = "Gauge"

    def set(self, value: float, **tags: object) -> None:
        self._metric.set(float(value), self._tags(tags))


class Histogram(Series):
    kind = "Histogram"

    def observe(self, value: float, **tags: object) -> None:
        self._metric.observe(float(value), self._tags(tags))

    @property
    def exported(self) -> tuple[str, ...]:
        return tuple(f"ray_{self.name}_{part}" for part in ("bucket", "sum", "count"))


SECONDS = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300]

# tasks: in the driver, as each domain's results come back
TASKS_SAMPLED = Counter("agentscaler_tasks_sampled", "Tasks sampled, by what became of them (the tasks summary's "
                        "counts: 'outcome: <o>' kept, 'dropped: <failure code>', 'given_up', 'redrawn' plans).",
                        ("result",))

# simulators: in each simulator actor
SIM_STEPS = Counter("agentscaler_sim_steps", "Tool calls run by simulators.", ("host",))
SIM_STEP_ERRORS = Counter("agentscaler_sim_step_errors", "Tool calls answered with an error observation.", ("host",))
SIM_LIVE_EPISODES = Gauge("agentscaler_sim_live_episodes", "Episodes alive on a simulator host.", ("host",))

# rollouts: where episodes are played (the rollout driver)
EPISODES_STARTED = Counter("agentscaler_episodes_started", "Episodes started (a retried episode starts again).",
                           ("agent",))
EPISODES_FINISHED = Counter("agentscaler_episodes_finished", "Episodes that ended with a rollout row, by how "
                            "they ended and the task's outcome.", ("agent", "status", "outcome"))
EPISODES_FAILED = Counter("agentscaler_episodes_failed", "Episodes that raised (an actor or engine failure), by "
                          "exception type.", ("agent", "error"))
# Ray's agent rebuilds a histogram's observations from its buckets' midpoints: buckets one turn wide centred on
# whole turns keep the sum (and so the mean) exact up to 16 turns.
EPISODE_TURNS = Histogram("agentscaler_episode_turns", "Agent turns in a finished episode.", ("agent",),
                          boundaries=[turns + 0.5 for turns in range(17)] + [24.5, 32.5])
TOOL_CALLS = Counter("agentscaler_tool_calls", "Tool calls made by agents, by result (ok, error).",
                     ("agent", "result"))

# LLM backends: where the model is called (the in-process backend's worker thread, or the client)
LLM_GENERATED_TOKENS = Counter("agentscaler_llm_generated_tokens", "Tokens generated.", ("backend",))
LLM_PROMPT_TOKENS = Counter("agentscaler_llm_prompt_tokens", "Prompt tokens read.", ("backend",))
LLM_CALL_SECONDS = Histogram("agentscaler_llm_call_seconds", "Wall time of one generation call (the in-process "
                             "backend: one batch).", ("backend",), boundaries=SECONDS)
LLM_TOKENS_PER_SECOND = Gauge("agentscaler_llm_tokens_per_second", "Tokens generated per second in the latest "
                              "call (the in-process backend: over a whole batch).", ("backend",))

# filters: in each Ray Data worker
FILTER_TRAJECTORIES = Counter("agentscaler_filter_trajectories", "Trajectories through each filter, passed or "
                              "rejected.", ("stage", "outcome"))

# training: rank 0 of the Ray Train workers, once per optimizer step
TRAIN_STEPS = Counter("agentscaler_train_steps", "Optimizer steps taken.", ("stage",))
TRAIN_TOKENS = Counter("agentscaler_train_tokens", "Tokens in the packed rows stepped over (all workers).",
                       ("stage",))
TRAIN_LOSS = Gauge("agentscaler_train_loss", "Training loss of the latest step (mean over workers).", ("stage",))
TRAIN_TOKENS_PER_SECOND = Gauge("agentscaler_train_tokens_per_second", "Tokens per second of the latest step "
                                "(all workers).", ("stage",))
TRAIN_STEP_SECONDS = Histogram("agentscaler_train_step_seconds", "Wall time of one optimizer step.", ("stage",),
                               boundaries=SECONDS)
