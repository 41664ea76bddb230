"""Stage 6: tasks, each a user's goal of one to four sub-goals with gold calls that replay, a user scenario and
an outcome (see ``build``). Tasks travel as ``contracts.Task``; ``RunDir.read_tasks`` reads them back."""

from agentscaler.tasks.build import TaskConfig, build_tasks, tasks_command
from agentscaler.tasks.check import check_task, said
from agentscaler.tasks.intent import action, field_words, listed
from agentscaler.tasks.plan import observed_rows

__all__ = ["TaskConfig", "action", "build_tasks", "check_task", "field_words", "listed", "observed_rows", "said",
           "tasks_command"]
