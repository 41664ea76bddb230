"""Stage 4: environments. Each domain's schema, DDL, compiled tools and initial states, as data."""

from agentscaler.envs.build import build_domain, build_envs, load_env
from agentscaler.envs.kinds import classify
from agentscaler.envs.schema import infer_schema, render_ddl
from agentscaler.envs.spec import Assignment, Binding, Column, CompiledTool, EnvSpec, ForeignKey, Operation, Table

__all__ = ["Assignment", "Binding", "Column", "CompiledTool", "EnvSpec", "ForeignKey", "Operation", "Table",
           "build_domain", "build_envs", "classify", "infer_schema", "load_env", "render_ddl"]
