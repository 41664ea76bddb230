"""Fixtures shared by every stage's tests: the real corpora, and one Ray for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project root: the real corpora, absent on a user's machine."""
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"real corpora not found at {path}")
    return path


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray (2 CPUs, no dashboard) for all tests that need it: starting Ray takes seconds. Metrics
    reach the node's Prometheus endpoint within a second (test_metrics reads them back). Always a new local
    Ray: a cluster someone started on the machine (``ray start``) is not joined."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, ignore_reinit_error=True,
             _system_config={"metrics_report_interval_ms": 1000})
    yield ray
    ray.shutdown()
