"""Public benchmarks played through the project's agents and servers: τ²-bench, ACEBench, BFCL, and a run's
contamination check against their test items. ``agentscaler bench <name>`` is one subcommand each."""

from __future__ import annotations

import typer

from agentscaler.bench.acebench import acebench_command
from agentscaler.bench.bfcl import bfcl_command
from agentscaler.bench.contamination import contamination_command
from agentscaler.bench.tau2 import tau2_command

bench_app = typer.Typer(add_completion=False, no_args_is_help=True)


@bench_app.callback()
def bench_command() -> None:
    """Score an agent on public benchmarks (τ²-bench, ACEBench, BFCL) and check a run's tasks against their test
    items."""


bench_app.command("acebench")(acebench_command)
bench_app.command("bfcl")(bfcl_command)
bench_app.command("contamination")(contamination_command)
bench_app.command("tau2")(tau2_command)
