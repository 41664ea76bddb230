"""Filter 2, outcome: the trajectory behaves as its task's outcome asks and keeps the domain's process rules.

Judged from the calls, the messages and the calls' replayed observations (never the recorded ones);
state alignment, next, judges the state the calls reach, so the code here names what the agent did
wrong even when the state is wrong too:

- ``refuse``: no write call at all [``wrote_on_refuse``]: a write the simulator refused is still a write
  the agent should not have tried;
- ``irrelevant``: no call at all [``called_on_irrelevant``];
- ``clarify``: each withheld value is said in a user message before the first call that uses it
  (``rollouts.scenario`` says when a value is said and when a call uses it); a call that uses it
  earlier guessed it [``guessed_withheld_value``];
- ``complete`` and ``recover``: nothing here; state alignment and exact match judge them;
- every outcome: no process rule of the domain's policy is broken (an identity check before a write on
  a user's rows, a confirmation before a destructive write) [``unidentified_write``,
  ``unconfirmed_destructive_write``: ``envs.process_violations``, which counts successful writes only].
"""

from __future__ import annotations

from agentscaler.envs import process_violations
from agentscaler.filters.gold import TaskStage, replayed, simulator
from agentscaler.filters.stage import Verdict, reject
from agentscaler.rollouts import said, uses


class OutcomeCheck(TaskStage):
    """Filter 2 (see the module docstring); needs the run's tasks and envs/."""

    name = "outcome"
    reads = ("task_id", "messages")

    def check(self, row: dict) -> Verdict:
        found = self.task_and_trajectory(row)
        if isinstance(found, Verdict):
            return found
        task, trajectory = found
        sim, tools = simulator(self.run, task.domain_id)
        calls = trajectory.calls
        if task.outcome == "irrelevant" and calls:
            return reject("called_on_irrelevant", f"no tool serves task {task.task_id}, yet call 0 is "
                                                  f"{calls[0].name}")
        writes = [n for n, c in enumerate(calls) if c.name in tools and tools[c.name].kind != "read"]
        if task.outcome == "refuse" and writes:
            return reject("wrote_on_refuse", f"task {task.task_id} must be refused, yet call {writes[0]} "
                                             f"({calls[writes[0]].name}) writes")
        if task.outcome == "clarify":
            messages = trajectory.messages
            for label, value in (task.user_scenario.get("withheld") or {}).items():
                first = next((n for n, c in enumerate(calls) if uses(c.arguments, value)), None)
                if first is not None and not any(m.get("role") == "user" and said(m.get("content"), value)
                                                 for m in messages[:calls[first].message]):
                    return reject("guessed_withheld_value", f"call {first} ({calls[first].name}) uses the "
                                                            f"{label} before the user said it")
        replay = replayed(self.run, task.task_id, row["messages"])
        if replay.first("initial_state_mismatch"):
            return Verdict()  # no replay to judge by: state alignment says why
        violations = process_violations(sim.spec, trajectory.messages, [o.observation for o in replay.observations])
        return Verdict(str(violations[0])) if violations else Verdict()
