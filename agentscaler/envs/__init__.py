"""Stage 4: environments. Each domain's schema, DDL, compiled tools and initial states, as data
(``EnvSpec``), and the simulator that executes them (``DomainSimulator``)."""

from agentscaler.envs.build import EnvConfig, build_domain, build_envs, build_envs_command, load_env
from agentscaler.envs.kinds import VERBS, classify
from agentscaler.envs.naming import tokens
from agentscaler.envs.schema import infer_schema, render_ddl
from agentscaler.envs.semantics import FLAG_VERBS, STATUS_VERBS
from agentscaler.envs.simulator import CallError, DomainSimulator, Observation, Replay
from agentscaler.envs.spec import Assignment, Binding, Column, CompiledTool, EnvSpec, ForeignKey, Operation, Table
from agentscaler.envs.synth import as_argument, sample_arguments

__all__ = ["FLAG_VERBS", "STATUS_VERBS", "VERBS", "Assignment", "Binding", "CallError", "Column", "CompiledTool",
           "DomainSimulator", "EnvConfig", "EnvSpec", "ForeignKey", "Observation", "Operation", "Replay", "Table",
           "as_argument", "build_domain", "build_envs", "build_envs_command", "classify", "infer_schema", "load_env",
           "render_ddl", "sample_arguments", "tokens"]
