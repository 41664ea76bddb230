"""A run in pictures: ``agentscaler report --run DIR`` writes one self-contained HTML page (DIR/report.html)
of what each stage made, read from the run's artifacts; the notebooks in ``notebooks/`` show the same
sections, each of which renders itself in Jupyter.

    from agentscaler.report import SECTIONS, write_report
    write_report("runs/demo")                 # runs/demo/report.html
    filter_funnel(RunDir("runs/demo"))        # in a notebook: the section, its table and its plot
"""

from agentscaler.report.contents import (SECTIONS, calls_per_task, domain_sizes, eval_reports, evaluation,
                                         filter_funnel, pass_rates, training_curves)
from agentscaler.report.page import render_page, report_command, write_report
from agentscaler.report.section import Section

__all__ = ["SECTIONS", "Section", "calls_per_task", "domain_sizes", "eval_reports", "evaluation", "filter_funnel",
           "pass_rates", "render_page", "report_command", "training_curves", "write_report"]
