"""Stage 10: an agent plays the held-out tasks and is scored on the state it reaches (see ``run``)."""

from agentscaler.evaluate.run import evaluate
from agentscaler.evaluate.score import judge, pass_hat_k

__all__ = ["evaluate", "judge", "pass_hat_k"]
