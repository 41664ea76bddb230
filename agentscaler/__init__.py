"""AgentScaler on Ray: API corpora -> tool graph -> domains -> simulated environments -> trajectories -> SFT.

One package per pipeline stage (``ingest``, ``graph``, ``domains``, ``envs``, ``sim``); each stage is a
library function over the artifacts of a run directory (``artifacts.RunDir``), a CLI verb and a
Ray job entrypoint under ``jobs/``.
"""

from agentscaler.toolspec import ToolSpec

__all__ = ["ToolSpec"]
__version__ = "0.1.0"
