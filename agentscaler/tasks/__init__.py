"""Stage 6: tasks whose correct outcome is a known database state (see ``build``)."""

from agentscaler.tasks.build import TaskConfig, build_tasks, read_tasks
from agentscaler.tasks.check import check_task

__all__ = ["TaskConfig", "build_tasks", "check_task", "read_tasks"]
