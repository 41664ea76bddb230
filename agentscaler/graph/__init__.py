"""Stage 2, tool graph: embed parameters in their tool's context, link tools whose parameters match."""

from agentscaler.graph.build import GraphConfig, build_graph, read_tool_vectors
from agentscaler.graph.cli import graph_command
from agentscaler.graph.embedders import HashingEmbedder, TransformerEmbedder, make_embedder

__all__ = ["GraphConfig", "HashingEmbedder", "TransformerEmbedder", "build_graph", "graph_command", "make_embedder",
           "read_tool_vectors"]
