"""The sections of a run's report, each built from the run's artifacts alone (nothing is recomputed):
domains, tasks and their calls, the filter funnel, pass rates per domain, training curves, evaluations.

    from agentscaler.report import SECTIONS
    for build in SECTIONS:
        section = build(RunDir("runs/demo"))   # a Section: note, table, figure (or what is missing)
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path
from statistics import mean, median

from agentscaler.artifacts import RunDir, read_jsonl, read_rows
from agentscaler.contracts import OUTCOMES, SPLITS
from agentscaler.report.figures import figure, grouped_bars, legend, stacked_bars
from agentscaler.report.section import Section
from agentscaler.train import STAGES as TRAIN_STAGES

MOST = 40  # domains drawn at most in a per-domain plot or table (the largest first)


def absent(run: RunDir, title: str, artifact: Path) -> Section:
    """A section that says which artifact it lacks and which verb writes it."""
    verb = run.producer(artifact)
    hint = f": `agentscaler {verb} --run {run.path}` writes it" if verb else ""
    return Section(title, missing=f"No {artifact.relative_to(run.path)} in this run{hint}.")


def domain_sizes(run: RunDir) -> Section:
    """Tools per domain, split by what the environment made of each (read, create, ..., not executable)."""
    title = "Domains: sizes and tool kinds"
    if not run.domains.exists():
        return absent(run, title, run.domains)
    sizes = Counter(row["domain_id"] for row in read_rows(run.domains))
    largest = sorted(sizes, key=lambda d: (-sizes[d], d))
    kinds: dict[int, Counter] = defaultdict(Counter)  # none before the environments are built
    for row in read_rows(run.env_tools) if run.env_tools.exists() else []:
        kinds[row["domain_id"]][row["kind"] if row["executable"] else "not executable"] += 1
    totals = sum(kinds.values(), Counter())
    names = sorted(totals, key=lambda k: (k == "not executable", -totals[k]))
    shown = largest[:MOST]
    fig, (ax,) = figure(width=max(5.0, 0.22 * len(shown)))
    stacked_bars(ax, shown, {name: [kinds[d][name] for d in shown] for name in names}
                 or {"tools": [sizes[d] for d in shown]})
    ax.set(xlabel="domain", ylabel="tools", title="tools per domain" + (" (by kind)" if names else ""))
    summary = run.read_summary(run.domains_summary)
    note = (f"{len(sizes)} domains of {sum(sizes.values())} tools: median {median(sizes.values()):g}, "
            f"largest {max(sizes.values())}, smallest {min(sizes.values())}")
    note += "".join(f"; {key.replace('_', ' ')} {summary[key]}" for key in ("modularity", "category_purity")
                    if key in summary)
    if totals:
        executable = sum(v for k, v in totals.items() if k != "not executable")
        note += f". {executable} of {sum(totals.values())} tools executable in their environment"
    if len(sizes) > MOST:
        note += f". Plot and table: the {MOST} largest domains"
    rows = [[d, sizes[d], *(kinds[d][name] for name in names)] for d in shown]
    return Section(title, note + ".", ["domain", "tools", *names], rows, fig)


def calls_per_task(run: RunDir) -> Section:
    """How many calls each task's gold path takes and each episode made, by what the task asks (its outcome)."""
    title = "Tasks: calls per task and outcome mix"
    if not run.tasks.exists():
        return absent(run, title, run.tasks)
    tasks = run.read_tasks()
    if not tasks:
        return Section(title, missing="The run's tasks.parquet has no tasks.")
    outcome_of = {t.task_id: t.outcome for t in tasks}
    outcomes = [o for o in OUTCOMES if o in outcome_of.values()] + sorted(set(outcome_of.values()) - set(OUTCOMES))
    episodes = run.read_rollouts(["task_id", "num_tool_calls"]) if run.rollouts.exists() else []
    gold = Counter((len(t.calls), t.outcome) for t in tasks)
    played = Counter((r["num_tool_calls"] or 0, outcome_of.get(r["task_id"])) for r in episodes)
    fig, axes = figure(2 if episodes else 1)
    for ax, counts, what, unit in zip(axes, (gold, played), ("gold calls per task", "tool calls per episode"),
                                      ("tasks", "episodes")):
        calls = list(range(max(n for n, _ in counts) + 1))
        stacked_bars(ax, calls, {o: [counts[(n, o)] for n in calls] for o in outcomes})
        ax.set(xlabel=what, ylabel=unit, title=f"{what} (by outcome)")
    reached = run.read_summary(run.rollouts_summary).get("outcomes", {})
    rows = []
    for o in outcomes:
        mine = [t for t in tasks if t.outcome == o]
        played_calls = [r["num_tool_calls"] or 0 for r in episodes if outcome_of.get(r["task_id"]) == o]
        rows.append([o, len(mine), *(sum(t.split == s for t in mine) for s in SPLITS), sum(t.writes for t in mine),
                     round(mean(len(t.calls) for t in mine), 2), len(played_calls),
                     round(mean(played_calls), 2) if played_calls else None,
                     reached.get(o, {}).get("reached_gold_hash")])
    domains = len({t.domain_id for t in tasks})
    writes = sum(t.writes for t in tasks)
    note = (f"{len(tasks)} tasks in {domains} domains ({writes} write, {len(tasks) - writes} read-only), "
            f"{sum(len(t.calls) for t in tasks)} gold calls")
    if episodes:
        note += (f"; {len(episodes)} training episodes played ({sum(n * c for (n, _), c in played.items())} "
                 f"tool calls)")
    columns = ["outcome", "tasks", *SPLITS, "write tasks", "mean gold calls", "episodes", "mean calls played",
               "reached gold state"]
    return Section(title, note + ".", columns, rows, fig)


def filter_funnel(run: RunDir) -> Section:
    """Trajectories left after each filter stage, and why the others were rejected."""
    title = "Filter funnel"
    report = run.read_summary(run.filter_report)
    if not report:
        return absent(run, title, run.filter_report)
    stages = report["stages"]
    labels = ["input", *(s["stage"] for s in stages)]
    fig, (ax,) = figure(width=6.0, height=0.45 * len(labels) + 1.0)
    stacked_bars(ax, labels, {"left": [report["input"], *(s["out"] for s in stages)],
                              "rejected here": [0, *(s["rejected"] for s in stages)]}, horizontal=True)
    ax.bar_label(ax.containers[0], label_type="center", color="white", fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="trajectories", title="trajectories left after each stage")
    rows = [[s["stage"], s["in"], s["out"], s["rejected"], ", ".join(f"{k} {v}" for k, v in s["reasons"].items())]
            for s in stages]
    note = (f"{report['input']} trajectories in, {report['kept']} kept "
            f"({report['kept'] / max(report['input'], 1):.1%}), {report['rejected']} rejected")
    export = run.read_summary(run.export_summary)
    if export:
        note += (f"; exported {export['rows']} training rows ({export.get('general', 0)} general, "
                 f"{export.get('vertical', 0)} vertical)")
    return Section(title, note + ".", ["stage", "in", "out", "rejected", "reasons"], rows, fig)


def eval_reports(run: RunDir) -> dict[str, dict]:
    """Every evaluation of the run: its name (``DIR/eval/<name>``) -> its report."""
    pattern = str(run.eval_report("*").relative_to(run.path))
    return {path.parent.name: run.read_summary(path) for path in sorted(run.path.glob(pattern))}


def pass_rates(run: RunDir) -> Section:
    """Per domain: the share of training episodes the filters kept, and each evaluation's pass rate."""
    title = "Pass rates per domain"
    filtered = run.read_summary(run.filter_report)
    evals = eval_reports(run)
    if not filtered and not evals:
        return absent(run, title, run.filter_report)
    series: dict[str, dict[str, float]] = {}
    counts = filtered.get("domains", {})
    if counts:
        last = filtered["stages"][-1]["stage"]
        series["kept by the filters"] = {d: c[last] / c["in"] for d, c in counts.items() if c["in"]}
    for name, report in evals.items():
        series[f"eval {name}"] = {d: block["pass_rate"] for d, block in report.get("domains", {}).items()}
    weight = Counter({d: c["in"] for d, c in counts.items()})
    for report in evals.values():
        weight.update({d: block["episodes"] for d, block in report.get("domains", {}).items()})
    domains = sorted(sorted(weight, key=lambda d: (-weight[d], int(d)))[:MOST], key=int)
    fig, (ax,) = figure(width=min(12.0, max(5.0, 0.1 * len(domains) * len(series) + 3)))
    grouped_bars(ax, domains, {name: [rates.get(d, math.nan) for d in domains] for name, rates in series.items()})
    ax.set(xlabel="domain", ylabel="share", ylim=(0, 1.05), title="pass rate per domain")
    rows = [[d, counts.get(d, {}).get("in"), *(rates.get(d) for rates in series.values())] for d in domains]
    parts = []
    if counts:
        kept = series["kept by the filters"].values()
        parts.append(f"the filters kept {min(kept):.0%} to {max(kept):.0%} of a domain's training episodes "
                     f"({len(counts)} domains)")
    parts += [f"eval {name}: pass rate {report['pass_rate']:.1%} over {len(report.get('domains', {}))} domains"
              for name, report in evals.items()]
    if len(weight) > MOST:
        parts.append(f"plot and table: the {MOST} domains with the most episodes")
    note = "; ".join(parts)
    return Section(title, note[:1].upper() + note[1:] + ".", ["domain", "training episodes", *series], rows, fig)


def training_curves(run: RunDir) -> Section:
    """Loss and tokens/s per step of each training stage (``DIR/train/<stage>/metrics.jsonl``)."""
    title = "Training curves"
    order = {name: i for i, name in enumerate(TRAIN_STAGES)}
    files = sorted(run.train.glob("*/metrics.jsonl"), key=lambda p: (order.get(p.parent.name, len(order)), p))
    curves = {path.parent.name: steps for path in files if (steps := read_jsonl(path))}
    if not curves:
        return absent(run, title, run.train / "<stage>" / "metrics.jsonl")
    fig, (loss, speed) = figure(2)
    offset, rows = 0, []
    for name, steps in curves.items():
        xs = [offset + s["step"] for s in steps]
        loss.plot(xs, [s["loss"] for s in steps], marker="." if len(xs) < 50 else None, label=name)
        speed.plot(xs, [s["tokens"] / s["seconds"] for s in steps], marker="." if len(xs) < 50 else None, label=name)
        offset = xs[-1]
        tokens, seconds = sum(s["tokens"] for s in steps), sum(s["seconds"] for s in steps)
        rows.append([name, len(steps), steps[-1]["epoch"] + 1, steps[0]["loss"], steps[-1]["loss"],
                     min(s["loss"] for s in steps), tokens, round(tokens / seconds), round(seconds, 1)])
    loss.set(xlabel="step", ylabel="loss", title="training loss")
    speed.set(xlabel="step", ylabel="tokens/s", title="throughput")
    for ax in (loss, speed):
        legend(ax)
    note = "; ".join(f"{r[0]}: loss {r[3]:.3f} -> {r[4]:.3f} in {r[1]} steps" for r in rows)
    columns = ["stage", "steps", "epochs", "first loss", "last loss", "lowest loss", "tokens", "tokens/s", "seconds"]
    return Section(title, note + ".", columns, rows, fig)


def evaluation(run: RunDir) -> Section:
    """Each evaluation's pass rate and pass^k (95% interval), and its pass rate per task outcome."""
    title = "Evaluations"
    reports = eval_reports(run)
    if not reports:
        return absent(run, title, run.eval_report("<name>"))
    ks = sorted({k for r in reports.values() for k in r.get("pass_hat_k", {})}, key=int)
    rows = []
    for name, r in reports.items():
        failures = ", ".join(f"{k} {v}" for k, v in r.get("outcomes", {}).items() if k != "passed")
        rows.append([name, r["agent"], r["split"], r["tasks"], r["episodes"], r["pass_rate"],
                     *(_pass_hat(r, k) for k in ks), r.get("writes", {}).get("pass_rate"),
                     r.get("read_only", {}).get("pass_rate"), failures or None])
    outcomes = [o for o in OUTCOMES if any(o in r.get("by_outcome", {}) for r in reports.values())]
    fig, (hat, by_outcome) = figure(2)
    grouped_bars(hat, [f"k={k}" for k in ks], {name: [r["pass_hat_k"].get(k, math.nan) for k in ks]
                                               for name, r in reports.items()},
                 {name: [r.get("pass_hat_k_ci95", {}).get(k) or (math.nan, math.nan) for k in ks]
                  for name, r in reports.items()})
    hat.set(ylabel="pass^k", ylim=(0, 1.05), title="pass^k (95% interval)")
    grouped_bars(by_outcome, outcomes, {name: [r["by_outcome"].get(o, {}).get("pass_rate", math.nan)
                                               for o in outcomes] for name, r in reports.items()})
    by_outcome.set(ylabel="pass rate", ylim=(0, 1.05), title="pass rate by task outcome")
    note = "; ".join(f"{name}: {r['agent']} on {r['tasks']} {r['split']} tasks x {r['samples']}, pass rate "
                     f"{r['pass_rate']:.1%}" for name, r in reports.items())
    columns = ["name", "agent", "split", "tasks", "episodes", "pass rate", *(f"pass^{k} [95%]" for k in ks),
               "write tasks", "read-only tasks", "failures"]
    return Section(title, note + ".", columns, rows, fig)


def _pass_hat(report: dict, k: str) -> str | None:
    if k not in report.get("pass_hat_k", {}):
        return None
    low, high = report.get("pass_hat_k_ci95", {}).get(k) or (None, None)
    value = f"{report['pass_hat_k'][k]:.3f}"
    return value if low is None else f"{value} [{low:.3f}, {high:.3f}]"


SECTIONS = (domain_sizes, calls_per_task, filter_funnel, pass_rates, training_curves, evaluation)
