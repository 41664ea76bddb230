"""How real a run's synthesized values look: the value targets of issue 16.

    python benchmarks/bench_realism.py --run DIR

DIR is a run directory (``agentscaler run --out DIR --until tasks``; ``--until envs`` is enough for every
figure but the gold arguments'). Prints, as JSON:

- ``echo_text``: share of state text cells, outside key columns, that echo their column: a word of the
  column's (or its table's) name and a number, ``company_66`` in ``company``, ``timestamp_25`` (target <= 5%);
- ``default_numbers``: share of numeric cells (not keys, enums, flags or the spec's default) in 1..1000 in a
  column whose words give no range: drawn from a default range (target <= 20%); ``implausible_numbers``:
  share of numeric cells outside the range their words give (a price of 734.50 drawn from 1..1000);
- ``echo_gold_args`` / ``echo_gold_args_no_keys``: share of the gold calls' string arguments that echo their
  parameter (tasks.parquet), with and without the arguments that take a key (keys have the shapes real
  systems use, ``envs.keys``: ``#O2611340``, ``mia_li_3668``, a UUID; ``order_3`` before) (target <= 5%);
- ``tools_with_plumbing``: share of the run's tools with an API-plumbing parameter (``envs.plumbing``), and
  ``plumbing_bound``: how many of those parameters the environments still bind (columns or filters; 0).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from agentscaler.artifacts import RunDir
from agentscaler.envs import EnvSpec, Table
from agentscaler.envs.naming import tokens
from agentscaler.envs.plumbing import is_plumbing, plumbing
from agentscaler.envs.values import meaning

_ECHO = re.compile(r"([A-Za-z][A-Za-z_ ]*?)[_ ]?(\d+)")


def echoes(value: object, *names: str) -> bool:
    """Whether a value is a word of ``names`` and a number (``key_34`` for ``projectKey``)."""
    match = _ECHO.fullmatch(value) if isinstance(value, str) else None
    return bool(match) and set(tokens(match.group(1))) <= {w for n in names for w in tokens(n)}


def _keys(table: Table) -> set[str]:
    return {table.primary_key, *(fk.column for fk in table.foreign_keys)}


def state_figures(specs: list[EnvSpec]) -> Counter:
    counts: Counter = Counter()
    for spec in specs:
        for table in spec.tables:
            siblings = frozenset(c.name for c in table.columns)
            for at, column in enumerate(table.columns):
                if column.name in _keys(table) or column.enum:
                    continue
                m = meaning(column, table.entity, siblings)
                for rows in spec.states:
                    for row in rows.get(table.name, []):
                        v = row[at]
                        if isinstance(v, str) and column.json_type in ("string", "any"):
                            counts["text"] += 1
                            counts["echo_text"] += echoes(v, column.name, table.entity, table.name)
                        elif isinstance(v, (int, float)) and column.json_type in ("integer", "number") \
                                and v != column.default:
                            counts["numbers"] += 1
                            counts["default_numbers"] += m.generic and 1 <= v <= 1000
                            low, high = m.arg[0] if m.kind == "number" and not m.generic else (v, v)
                            counts["implausible_numbers"] += not low <= v <= high
    return counts


def gold_figures(run: RunDir, specs: dict[int, EnvSpec]) -> Counter:
    counts: Counter = Counter()
    if not run.tasks.exists():
        return counts
    for task in pq.read_table(run.tasks, columns=["domain_id", "gold_calls"]).to_pylist():
        spec = specs[task["domain_id"]]
        for call in json.loads(task["gold_calls"]):
            tool = next((t for t in spec.tools if t.name == call["name"]), None)
            bindings = {b.param: b for b in tool.operation.bindings} if tool and tool.operation else {}
            table = spec.table(tool.table) if tool and tool.table else None
            for param, v in call["arguments"].items():
                if not isinstance(v, str):
                    continue
                b = bindings.get(param)
                key = bool(b and table and b.column in _keys(table))
                echo = echoes(v, param, *(b.column,) if b and b.column else (), *(table.entity,) if table else ())
                counts["args"] += 1
                counts["echo"] += echo
                counts["args_no_keys"] += not key
                counts["echo_no_keys"] += echo and not key
    return counts


def plumbing_figures(run: RunDir, specs: list[EnvSpec]) -> Counter:
    counts: Counter = Counter()
    for tool in run.read_tools():
        counts["tools"] += 1
        counts["with_plumbing"] += bool(plumbing(tool))
    for spec in specs:
        for tool in spec.tools:
            props = tool.openai_schema["function"]["parameters"].get("properties") or {}
            for b in tool.operation.bindings if tool.operation else []:
                counts["bound"] += is_plumbing(b.param, props.get(b.param), set(props))
    return counts


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="Run directory with envs/ (and tasks.parquet).")
    run = RunDir(parser.parse_args().run)
    ids = sorted(int(p.stem) for p in run.require(run.envs / "domains").glob("*.json"))
    specs = {d: EnvSpec.load(run.env_spec(d)) for d in ids}
    cells = state_figures(list(specs.values()))
    gold = gold_figures(run, specs)
    plumbed = plumbing_figures(run, list(specs.values()))
    print(json.dumps({
        "echo_text": share(cells["echo_text"], cells["text"]), "text_cells": cells["text"],
        "default_numbers": share(cells["default_numbers"], cells["numbers"]),
        "implausible_numbers": share(cells["implausible_numbers"], cells["numbers"]), "numeric_cells": cells["numbers"],
        "echo_gold_args": share(gold["echo"], gold["args"]),
        "echo_gold_args_no_keys": share(gold["echo_no_keys"], gold["args_no_keys"]), "gold_string_args": gold["args"],
        "tools_with_plumbing": share(plumbed["with_plumbing"], plumbed["tools"]), "plumbing_bound": plumbed["bound"],
    }, indent=2))


if __name__ == "__main__":
    main()
