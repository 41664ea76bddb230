"""Stage 10: an agent plays the held-out tasks and is scored on the state it reaches (see ``run``)."""

from agentscaler.evaluate.run import EvalConfig, eval_command, eval_name, evaluate
from agentscaler.evaluate.score import judge, pass_hat_k, pass_hat_k_interval

__all__ = ["EvalConfig", "eval_command", "eval_name", "evaluate", "judge", "pass_hat_k", "pass_hat_k_interval"]
