"""The task figures of issue 16 for one run's ``tasks.parquet``: how much work a task asks for, what the user
has to say, how the intent reads, and which outcomes it tests.

    python benchmarks/bench_tasks.py --run DIR [--json] [--seeds N]

One run is one draw of about 60 tasks on the demo; ``--seeds N`` samples the run's domains again with task
seeds 0..N-1 (``TaskConfig.seed``, the run's built environments) and reports the figures over all of them.

Figures (tau2-bench airline / retail where the issue measured them):
- ``gold_calls_mean``, ``share_3_calls``, ``share_5_calls``: gold calls per task (2.96 / 4.85; 40%/24%, 68%/53%);
- ``share_unstated_value``: tasks with an argument value an earlier call returned that the intent and the
  scenario never state (the agent had to find it: 70% / 98%);
- ``share_multi_call_reuse``: tasks of two or more successful calls (a recover task's failing first attempt
  is no step of its data flow) where a later call takes a value an earlier one returned (one the user
  does not state, or one that cannot match by chance);
- ``quoted_values_per_intent``: double-quoted strings per intent (0);
- ``phrasing_families``: the intents' phrasing families (the scenario's ``phrasing``; a run made before
  scenarios existed has one template);
- ``outcomes``: the share of each outcome;
- ``share_placeholder_arguments``: gold string arguments that echo their parameter (``company_66`` for
  ``company``);
- ``share_reads_answering``: gold reads (a recover task's failing attempt aside) whose answer holds a value
  beyond their own arguments: not an error, not empty, not only what they were given (target >= 95%).
Booleans and nulls never count as returned values; a whole number 0..9 counts only where the user does not
state it (a small key an earlier call returned).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentscaler.artifacts import RunDir  # noqa: E402
from agentscaler.contracts import OUTCOMES, Task  # noqa: E402
from agentscaler.envs import tokens  # noqa: E402
from agentscaler.rollouts.scenario import leaves  # noqa: E402

_QUOTED = re.compile(r'"[^"\n]+"')
_PLACEHOLDER = re.compile(r"^([A-Za-z]+)_\d+$")


def telling(v: Any) -> bool:
    """A value whose reuse says that it was carried over, not met by chance."""
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, (int, float)):
        return not (float(v).is_integer() and 0 <= v <= 9)
    return isinstance(v, str) and len(v.strip()) >= 2


def key(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return v.strip().lower() if isinstance(v, str) else json.dumps(v)


def value(v: Any) -> bool:
    return v is not None and not isinstance(v, bool)


def returned_values(task: Task) -> list[Any]:
    """Every argument value a call takes that an earlier call's observation returned."""
    seen: set[str] = set()
    out = []
    for call, obs in zip(task.calls, task.observations):
        out += [v for v in leaves(call["arguments"]) if value(v) and key(v) in seen]
        try:
            seen |= {key(v) for v in leaves(json.loads(obs)) if value(v)}
        except json.JSONDecodeError:
            pass
    return out


def stated(task: Task) -> tuple[str, set[str]]:
    scenario = task.user_scenario
    values = set()
    for field in ("known", "withheld", "first_attempt"):
        values |= {key(v) for v in leaves(scenario.get(field) or {})}
    return task.intent.lower(), values


def unstated_value(task: Task) -> bool:
    intent, values = stated(task)
    return any(key(v) not in values and key(v) not in intent for v in returned_values(task))


def reuses(task: Task) -> bool:
    return unstated_value(task) or any(map(telling, returned_values(task)))


def failed(observation: str) -> bool:
    answer = json.loads(observation)
    return isinstance(answer, dict) and "error" in answer


def placeholder(param: str, v: Any) -> bool:
    found = isinstance(v, str) and _PLACEHOLDER.match(v)
    return bool(found) and found.group(1).lower() in tokens(param) + [param.lower()]


def answers(call: dict, observation: str) -> bool:
    """Whether a call's answer holds a value beyond its own arguments (a validator's true or false is one)."""
    given = {key(v) for v in leaves(call["arguments"]) if v is not None}
    return any(key(v) not in given for v in leaves(json.loads(observation)) if v is not None)


def figures(tasks: list[Task], kinds: dict[tuple[int, str], str]) -> dict[str, Any]:
    """``kinds``: (domain, tool) -> the tool's kind in the run's environments."""
    n = len(tasks) or 1
    reads = [(c, o) for t in tasks for c, o in zip(t.calls, t.observations)
             if kinds.get((t.domain_id, c["name"])) == "read" and not failed(o)]
    calls = [len(t.calls) for t in tasks]
    multi = [t for t in tasks if sum(not failed(o) for o in t.observations) > 1]
    strings = [(p, v) for t in tasks for c in t.calls for p, v in c["arguments"].items() if isinstance(v, str)]
    families = Counter(t.user_scenario.get("phrasing", "template (before scenarios)") for t in tasks)
    return {
        "tasks": len(tasks), "domains": len({t.domain_id for t in tasks}),
        "gold_calls_mean": round(sum(calls) / n, 2),
        "share_3_calls": round(sum(c >= 3 for c in calls) / n, 3),
        "share_5_calls": round(sum(c >= 5 for c in calls) / n, 3),
        "share_unstated_value": round(sum(map(unstated_value, tasks)) / n, 3),
        "share_multi_call_reuse": round(sum(map(reuses, multi)) / (len(multi) or 1), 3),
        "quoted_values_per_intent": round(sum(len(_QUOTED.findall(t.intent)) for t in tasks) / n, 2),
        "phrasing_families": dict(families.most_common()),
        "personas": dict(Counter(t.user_scenario.get("persona", "-") for t in tasks).most_common()),
        "outcomes": {o: round(sum(t.outcome == o for t in tasks) / n, 3) for o in OUTCOMES},
        "share_placeholder_arguments": round(sum(placeholder(p, v) for p, v in strings) / (len(strings) or 1), 3),
        "share_reads_answering": round(sum(answers(c, o) for c, o in reads) / (len(reads) or 1), 3),
    }


def environments(run: str) -> list:
    from agentscaler.envs import load_env

    runs = RunDir(run)
    return [load_env(run, d["domain_id"]) for d in runs.read_summary(runs.envs_summary)["domains"]]


def resampled(specs: list, seeds: int) -> list[Task]:
    """The run's domains' tasks drawn with each task seed in turn, as the tasks stage draws them."""
    from agentscaler.tasks.build import TaskConfig, domain_tasks

    return [t for seed in range(seeds) for spec in specs for t in domain_tasks(spec, TaskConfig(seed=seed))[0]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="Run directory with tasks.parquet.")
    parser.add_argument("--json", action="store_true", help="One JSON object instead of a table.")
    parser.add_argument("--seeds", type=int, default=0, help="Sample tasks again with seeds 0..N-1 and pool them.")
    args = parser.parse_args()
    specs = environments(args.run)
    kinds = {(spec.domain_id, t.name): t.kind for spec in specs for t in spec.tools}
    found = figures(resampled(specs, args.seeds) if args.seeds else RunDir(args.run).read_tasks(), kinds)
    if args.json:
        print(json.dumps(found))
        return
    for name, value in found.items():
        print(f"{name:30} {json.dumps(value) if isinstance(value, dict) else value}")


if __name__ == "__main__":
    main()
