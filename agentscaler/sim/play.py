"""``play``: drive one domain's simulator by hand (a TTY REPL) or by pipe (JSON lines in, JSON lines out).

Piped, each input line is a tool call ``{"name": ..., "arguments": {...}}`` and each output line is
``{"observation": ..., "error": ..., "state_hash": ...}``, so scripts and tests talk to it directly.
A line that is not a call (not JSON, not UTF-8, not an object) is answered with an error line like
any refused call: one bad line must not end a session that a script drives.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterable, TextIO

import typer

from agentscaler.envs import DomainSimulator, load_env


def serve(sim: DomainSimulator, lines: Iterable[str | bytes], out: TextIO) -> None:
    """Answer each JSON-line tool call with one JSON line; lines may be bytes, decoded by the simulator."""
    for line in lines:
        if line.strip():
            obs = sim.step(line)
            out.write(json.dumps({"observation": obs.observation, "error": obs.error,
                                  "state_hash": sim.state_hash()}) + "\n")
            out.flush()


def repl(sim: DomainSimulator) -> None:
    """Interactive loop: ``name {json arguments}`` or a JSON call; tables are shown after each write."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text  # values and messages are shown as plain text: "[/x]" is not markup here

    console = Console()

    def show_tools() -> None:
        table = Table("tool", "kind", "parameters", "executable", title=f"domain {sim.spec.domain_id}")
        for t in sim.spec.tools:
            params = ", ".join(t.openai_schema["function"]["parameters"].get("properties", {}))
            table.add_row(Text(t.name), t.kind, Text(params), Text("yes" if t.executable else f"no: {t.reason}"))
        console.print(table)

    def show_table(name: str) -> None:
        rows = sim.rows(name)
        view = Table(*[c.name for c in sim.spec.table(name).columns], title=name)
        for row in rows:
            view.add_row(*[Text(json.dumps(v)) for v in row.values()])
        console.print(view)

    def ask() -> str:
        try:
            return console.input(f"[bold]{sim.state_hash()[:8]}> [/bold]").strip()
        except EOFError:  # Ctrl-D, or the end of redirected input
            return ":quit"

    show_tools()
    console.print('Enter `name {"arg": value}`, `:tools`, `:tables` or `:quit`.')
    while (line := ask()) != ":quit":
        if line == ":tools":
            show_tools()
        elif line == ":tables":
            for t in sim.spec.tables:
                show_table(t.name)
        elif line:
            name, _, args = line.partition(" ")
            call = line if line.startswith("{") else {"name": name, "arguments": args or "{}"}
            obs = sim.step(call)
            console.print_json(obs.observation) if not obs.error else console.print(Text(obs.observation, "red"))
            tool = next((t for t in sim.spec.tools if t.name == name), None)
            if not obs.error and tool is not None and tool.kind != "read":
                show_table(tool.table)


def play_command(
    run: Path = typer.Option(..., "--run", help="Run directory with envs/ built."),
    domain: int = typer.Option(..., "--domain", help="Domain id."),
    state: int = typer.Option(0, "--state", help="Index of the synthesized initial state."),
) -> None:
    """Play a domain's simulator: a REPL on a terminal, JSON lines on a pipe (stage 5)."""
    sim = DomainSimulator(load_env(run, domain))
    sim.reset(state)
    if sys.stdin.isatty():
        repl(sim)
    else:
        serve(sim, sys.stdin.buffer, sys.stdout)  # bytes: a line that is not UTF-8 gets an error answer


if __name__ == "__main__":  # `python -m agentscaler.sim.play`: the verb without importing every stage
    typer.run(play_command)
