"""What ``bench``'s benchmarks share: trials, each with its own seed, and pass^k over them with 95% intervals
(``evaluate``'s estimator and seeded bootstrap over the tasks)."""

from __future__ import annotations

from typing import Any, Optional

from pydantic import Field, model_validator

from agentscaler.configs import StrictConfig
from agentscaler.evaluate import pass_hat_k, pass_hat_k_interval


class Trials(StrictConfig):
    trials: Optional[int] = Field(None, ge=1, description="Trials per task (K of pass^k). Default: one per seed, or 1.")
    seeds: Optional[list[int]] = Field(None, description="One seed per trial. Default: 0..trials-1.")

    @model_validator(mode="after")
    def _one_seed_per_trial(self):
        if self.seeds and self.trials and len(self.seeds) != self.trials:
            raise ValueError(f"{len(self.seeds)} seeds for {self.trials} trials: give one seed per trial")
        return self

    def trial_seeds(self) -> list[int]:
        return list(self.seeds) if self.seeds else list(range(self.trials or 1))


def pass_hat_k_block(passes: dict[str, int], trials: int) -> dict[str, Any]:
    """pass^k for k = 1..trials and its 95% interval, from each task's number of passed trials."""
    counts = [(trials, c) for c in passes.values()]
    ks = range(1, trials + 1)
    return {"pass_hat_k": {str(k): round(pass_hat_k(counts, k), 4) for k in ks},
            "pass_hat_k_ci95": {str(k): [round(x, 4) for x in pass_hat_k_interval(counts, k)] for k in ks}}
