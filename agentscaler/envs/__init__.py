"""Stage 4: environments. Each domain's schema, DDL, compiled tools and initial states, as data
(``EnvSpec``), and the simulator that executes them (``DomainSimulator``)."""

from agentscaler.envs.build import EnvConfig, build_domain, build_envs, build_envs_command, load_env
from agentscaler.envs.compute import CALCULATORS, COMPUTE_FIELDS, ComputeError, compute_arguments, computes
from agentscaler.envs.kinds import VERBS, classify
from agentscaler.envs.naming import everyday, names_a_row, plural, singular, spoken, tokens
from agentscaler.envs.patch import is_json_patch, packed, unpacked
from agentscaler.envs.policy import (asks_confirmation, derive_policy, key_text, process_violations, refused_rule,
                                     says_yes)
from agentscaler.envs.schema import infer_schema, render_ddl
from agentscaler.envs.semantics import FLAG_VERBS, STATUS_VERBS
from agentscaler.envs.simulator import CallError, DomainSimulator, Observation, Replay
from agentscaler.envs.spec import (FILTER_ROLES, Assignment, Binding, Column, CompiledTool, ComputeOutput, ComputeSpec,
                                   EnvSpec, ForeignKey, Operation, Policy, Rule, Table)
from agentscaler.envs.synth import among_kin, sample_arguments
from agentscaler.envs.values import as_argument, meaning

__all__ = ["CALCULATORS", "COMPUTE_FIELDS", "FILTER_ROLES", "FLAG_VERBS", "STATUS_VERBS", "VERBS", "Assignment",
           "Binding", "CallError", "Column", "CompiledTool", "ComputeError", "ComputeOutput", "ComputeSpec",
           "compute_arguments", "computes", "DomainSimulator", "EnvConfig", "EnvSpec", "ForeignKey", "Observation",
           "Operation", "Policy", "Replay", "Rule", "Table", "among_kin", "as_argument", "asks_confirmation",
           "build_domain", "build_envs", "build_envs_command", "classify", "derive_policy", "everyday", "infer_schema",
           "is_json_patch", "key_text", "load_env", "meaning", "names_a_row", "packed", "plural", "process_violations",
           "refused_rule", "render_ddl", "sample_arguments", "says_yes", "singular", "spoken", "tokens", "unpacked"]
