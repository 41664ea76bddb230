"""Stage 7: episodes of a simulated user, an agent and the simulator actors (see ``run``). Agents and
users get a ``contracts.Task``; ``RunDir.read_rollouts`` reads the episodes back."""

from agentscaler.rollouts.protocol import STOP
from agentscaler.rollouts.run import RolloutConfig, backend_factories, rollout_command, run_rollouts
from agentscaler.rollouts.teacher import TeacherAgent, TemplateUser
from agentscaler.rollouts.user import LLMUser

__all__ = ["LLMUser", "RolloutConfig", "STOP", "TeacherAgent", "TemplateUser", "backend_factories",
           "rollout_command", "run_rollouts"]
