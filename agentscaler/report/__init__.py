"""One self-contained HTML page of a run: what each stage made, what the filters kept, how training and
evaluation went."""
