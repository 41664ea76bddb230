"""Metrics of every stage on Ray's dashboard (``ray.util.metrics``), named ``agentscaler_*``."""
