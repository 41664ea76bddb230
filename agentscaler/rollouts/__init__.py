"""Stage 7: episodes of a simulated user, an agent and the simulator actors (see ``run``)."""

from agentscaler.rollouts.run import RolloutConfig, read_rollouts, run_rollouts

__all__ = ["RolloutConfig", "read_rollouts", "run_rollouts"]
