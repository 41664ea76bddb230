"""Outcomes beyond completion, made from a sampled plan and what the user says (``intent.said_values``).

- ``clarify``: one value the user says (the new value of a write first) is withheld: the simulated user
  gives it only when asked, and the intent never says it, so guessing it fails;
- ``recover``: a value the user says is first given out of date (a number off, a typo), or a key they
  remember from before, so the first call that takes it fails; the gold calls hold that failing call,
  then the calls that get it right;
- a user who changes their mind once asks for another value of a write first (``change_of_mind``).

``refuse`` plans come from ``plan.sample_refusal``; ``irrelevant`` requests from ``intent.off_domain_request``.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import replace
from typing import Any

from agentscaler.envs import DomainSimulator, EnvSpec
from agentscaler.tasks.intent import Said, key_label
from agentscaler.tasks.plan import Plan, Step, identifies, owners


def _scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float)) and not isinstance(v, bool)


def withheld_label(said: list[Said], rng: random.Random) -> str | None:
    """The label of the value a clarify task withholds: a value to write if there is one, else any value a
    call takes, of two characters or more (any text says "m" in passing: "I'm"); None when there is none."""
    usable = [s for s in said if s.param is not None and _scalar(s.value) and len(str(s.value)) > 1]
    writes = [s for s in usable if s.role == "value"]
    return rng.choice(writes or usable).label if usable else None


def stale(value: Any, rng: random.Random) -> Any:
    """A wrong version of a value, as a user misremembers it: a number off, a string with a typo."""
    if isinstance(value, int):
        return value + rng.randint(11, 99)
    if isinstance(value, float):
        return round(value + rng.randint(11, 99) + 0.5, 2)
    digits = re.search(r"\d+$", value)
    if digits:
        return value[:digits.start()] + str(int(digits.group()) + rng.randint(11, 99))
    if len(value) >= 4:
        i = rng.randrange(1, len(value) - 2)
        typo = value[:i] + value[i + 1] + value[i] + value[i + 2:]
        return typo if typo != value else value + "x"
    return value + "x"


def with_failed_attempt(sim: DomainSimulator, state: int, plan: Plan, said: list[Said], spec: EnvSpec,
                        rng: random.Random) -> tuple[Plan, dict[str, Any]] | None:
    """recover: the plan with a first attempt that fails, and the scenario's ``first_attempt`` (label -> the
    wrong value); None when no wrong value makes a call fail (a search for a wrong name finds nothing, but
    does not fail). The attempt is either a call with a value the user misremembers, just before the same
    call with the right one, or a sub-goal's action with a key the user remembers from before (an old
    order number), before the lookups that find the right one (once the owner is identified, where the
    policy asks for that before a write)."""
    options = [(s.step, s.step, s.param, s.label) for s in said
               if s.param is not None and s.step < len(plan.steps) and _scalar(s.value)]
    for n, goal in enumerate(plan.goals):
        if goal.step < 0:
            continue
        action = plan.steps[goal.step]
        first = max([next(i for i, s in enumerate(plan.steps) if s.goal == n)] + [
            _identified(plan.steps, rule, key) for rule, key in owners(spec, action, goal.row)])
        options += [(first, goal.step, param, key_label(spec, action, param)) for param, index in action.found.items()
                    if first <= index < goal.step and _scalar(action.arguments[param])]
    rng.shuffle(options)
    for at, index, param, label in options:
        step = plan.steps[index]
        if any(b.param == param and b.enum for b in step.tool.operation.bindings):
            continue  # a value off its enum is a malformed call, not a misremembered one
        known = {p: v for p, v in step.arguments.items() if step.found.get(p, -1) < at}  # what is known by then
        if any(b.required and b.param not in known and b.param != param for b in step.tool.operation.bindings):
            continue
        sim.replay(state, [x.call for x in plan.steps[:at]])
        attempt = Step(step.tool, {**known, param: stale(step.arguments[param], rng)}, "attempt", step.goal)
        obs = sim.step(attempt.call)
        if not obs.error or "rule" in json.loads(obs.observation):
            continue  # it worked (on another row), or a rule refused it: no natural first attempt
        attempt.observation = obs.observation
        goals = [replace(g, step=g.step + (g.step >= at)) for g in plan.goals]
        return Plan(plan.steps[:at] + [attempt] + plan.steps[at:], goals), {label: attempt.arguments[param]}
    return None


def _identified(steps: list[Step], rule, key: Any) -> int:
    """The index just after the first step that identifies owner ``key`` (past the end when none does)."""
    return next((i + 1 for i, s in enumerate(steps) if identifies(s, rule, key)), len(steps))


def change_of_mind(sim: DomainSimulator, plan: Plan, said: list[Said], rng: random.Random,
                   withheld: set[str] = frozenset()) -> dict[str, Any] | None:
    """The value a user who changes their mind asks for first (label -> value): another value of a column a
    gold write sets (not a refused one, not a withheld one), one the column holds in another row (else a
    number nearby); None when no such value."""
    options = [s for s in said if s.role == "value" and s.param is not None and s.step < len(plan.steps)
               and s.label not in withheld and _scalar(s.value)]
    rng.shuffle(options)
    for s in options:
        step = plan.steps[s.step]
        column = next(b.column for b in step.tool.operation.bindings if b.param == s.param)
        others = sorted({r[column] for r in sim.rows(step.tool.table) if _scalar(r.get(column))
                         and type(r[column]) is type(s.value) and r[column] != s.value}, key=str)
        if others:
            return {s.label: rng.choice(others)}
        if isinstance(s.value, (int, float)):
            return {s.label: s.value + rng.choice((1, 2, 5))}
    return None
