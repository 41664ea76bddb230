"""Stage 7: episodes of a simulated user, an agent and the simulator actors (see ``run``). Agents and
users get a ``contracts.Task``; ``RunDir.read_rollouts`` reads the episodes back. ``said`` / ``uses``
(``scenario``) say when a scenario's value was said and which call uses it, for the filters too."""

from agentscaler.rollouts.protocol import STOP
from agentscaler.rollouts.run import RolloutConfig, backend_factories, rollout_command, run_rollouts
from agentscaler.rollouts.scenario import said, uses
from agentscaler.rollouts.teacher import TeacherAgent, TemplateUser, rule_text
from agentscaler.rollouts.user import LLMUser

__all__ = ["LLMUser", "RolloutConfig", "STOP", "TeacherAgent", "TemplateUser", "backend_factories",
           "rollout_command", "rule_text", "run_rollouts", "said", "uses"]
