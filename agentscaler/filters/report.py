"""The funnel: trajectories in and out of each stage, overall and per domain, with rejections counted by code."""

from __future__ import annotations

from collections import Counter, defaultdict

from agentscaler.failures import code_of
from agentscaler.filters.stage import STAGES


class Funnel:
    """Counts rows as they leave the pipeline (each with the stage that rejected it, or none)."""

    def __init__(self):
        self.entered: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.reasons: dict[str, Counter[str]] = defaultdict(Counter)
        self.domains: dict[int, Counter[str]] = defaultdict(Counter)
        self.tags: Counter[str] = Counter()

    def add(self, domain_id: int | None, rejected_by: str | None, reason: str | None, tags: list[str] | None) -> None:
        """One row leaving the pipeline, rejected by a stage (with its reason) or kept (``rejected_by`` None)."""
        domain = self.domains[domain_id]
        domain["in"] += 1
        for stage in STAGES:
            self.entered[stage] += 1
            if rejected_by == stage:
                self.rejected[stage] += 1
                self.reasons[stage][code_of(reason) or ""] += 1
                break
            domain[stage] += 1
        self.tags.update(tags or [])

    def report(self) -> dict:
        stages = [{"stage": s, "in": self.entered[s], "out": self.entered[s] - self.rejected[s],
                   "rejected": self.rejected[s], "reasons": dict(self.reasons[s].most_common())} for s in STAGES]
        return {
            "input": self.entered[STAGES[0]],
            "kept": stages[-1]["out"],
            "rejected": sum(self.rejected.values()),
            "stages": stages,
            "tags": dict(self.tags.most_common()),
            "recorded_hash_mismatch": self.tags["recorded_hash_mismatch"],
            "domains": {str(d): {"in": c["in"], **{s: c[s] for s in STAGES}}
                        for d, c in sorted(self.domains.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))},
        }


def funnel_table(report: dict, domains: int = 15):
    """The funnel as rich tables: stages, then the largest domains."""
    from rich.table import Table

    stages = Table(title=f"filters: {report['input']} in, {report['kept']} kept "
                         f"({report.get('trajectories_per_s', 0):,.0f} trajectories/s)")
    for name in ("stage", "in", "out", "rejected", "reasons"):
        stages.add_column(name, justify="left" if name in ("stage", "reasons") else "right", overflow="fold")
    for s in report["stages"]:
        stages.add_row(s["stage"], str(s["in"]), str(s["out"]), str(s["rejected"]),
                       ", ".join(f"{k} {v}" for k, v in s["reasons"].items()))
    per_domain = Table(title=f"per domain (the {domains} largest of {len(report['domains'])})")
    for name in ("domain", "in", *STAGES):
        per_domain.add_column(name, justify="right")
    largest = sorted(report["domains"].items(), key=lambda kv: -kv[1]["in"])[:domains]
    for d, c in largest:
        per_domain.add_row(d, str(c["in"]), *(str(c[s]) for s in STAGES))
    return stages, per_domain
