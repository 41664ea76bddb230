"""Stage 3: partition the tool graph into domains usable as environments.

1. Community detection on the whole graph: Louvain (networkx, the paper's choice) or Leiden
   (graspologic-native, graspologic's own core).
2. Giant communities are split by running the same algorithm on their subgraph at a higher
   resolution, recursively, until each part has at most ``max_size`` tools: one giant "everything
   with a ``query`` parameter" community is no environment.
3. Strays, tools in communities smaller than ``min_size`` (no edge above tau, or a pair on its
   own), join the domain of their most similar neighbour: the strongest graph edge into a domain
   of full size, else the nearest tool vector in one. They are flagged ``attached``. A stray with no
   such neighbour (a corpus with no domain of full size) stays a small domain of its own and is
   flagged ``small`` in the summary.
Between 2 and 3, an API split over several communities (its reads in one, its writes in another:
traccar's devices listed in one domain and changed in the other) is made whole again: its tools join
the community holding most of them, where that stays within ``max_size``. An API's tools share one
backend, and a write task needs the reads that find and check its rows. What a move leaves under
``min_size`` is attached as strays are.

Every ingested tool ends up in exactly one domain. Domain ids are numbered by size (largest first),
ties broken by the smallest tool id, so equal inputs and seed give equal ids.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

import networkx as nx
import numpy as np
from pydantic import Field

from agentscaler.configs import StrictConfig


class DomainConfig(StrictConfig):
    """Settings of the domain stage; each is a CLI flag of ``agentscaler domains``."""

    algorithm: Literal["leiden", "louvain"] = Field("leiden", description="Community detection algorithm.")
    # 2, not 1: over 15 labelled sets (benchmarks/bench_partition.py) mean ARI 0.737 against 0.723 and
    # family purity 0.85 against 0.81; on the full corpus ToolBench category purity 0.71 against 0.68.
    resolution: float = Field(2.0, description="Modularity resolution of the first pass: higher, more domains.")
    seed: int = Field(0, description="Random seed: a fixed seed gives the same partition.")
    min_size: int = Field(3, description="Smallest community kept as a domain; smaller ones are attached.")
    max_size: int = Field(100, description="Largest domain; bigger communities are split recursively.")
    split_factor: float = Field(2.0, description="Resolution multiplier for each recursive split.")
    max_split_depth: int = Field(8, description="How many times a giant community may be split again.")
    keep_apis_whole: bool = Field(True, description="Gather an API's tools split over several domains into one.")


def detect(graph: nx.Graph, algorithm: str, resolution: float, seed: int) -> list[set]:
    """Communities of ``graph`` (every node in exactly one), by the named algorithm."""
    if graph.number_of_edges() == 0:
        return [{node} for node in graph.nodes]
    if algorithm == "louvain":
        return [set(c) for c in nx.community.louvain_communities(graph, weight="weight", resolution=resolution,
                                                                  seed=seed)]
    import graspologic_native as gn

    # Canonical input and output order. A subgraph's nodes iterate in the order of the community set
    # they came from, and that set's order depends on how it was filled; Leiden's result depends on
    # node and edge order even with a fixed seed. Without sorting, one process partitioned the full
    # corpus into 2,765 and then 2,779 domains.
    order = sorted(graph.nodes)
    names = {node: str(i) for i, node in enumerate(order)}
    edges = sorted((min(a, b), max(a, b), float(w)) for a, b, w in graph.edges(data="weight", default=1.0))
    _, membership = gn.leiden(edges=[(names[a], names[b], w) for a, b, w in edges], resolution=resolution, seed=seed)
    groups: dict[int, set] = {}
    for node in order:
        if names[node] in membership:
            groups.setdefault(membership[names[node]], set()).add(node)
    isolated = [{node} for node in graph.nodes if graph.degree(node) == 0]
    return list(groups.values()) + isolated


def split_giants(graph: nx.Graph, communities: list[set], config: DomainConfig) -> list[set]:
    out = []
    pending = [(community, config.resolution * config.split_factor, 0) for community in communities]
    while pending:
        community, resolution, depth = pending.pop()
        if len(community) <= config.max_size or depth >= config.max_split_depth:
            out.append(community)
            continue
        parts = detect(graph.subgraph(community), config.algorithm, resolution, config.seed)
        if len(parts) == 1:  # no structure at this resolution: try a finer one
            pending.append((community, resolution * config.split_factor, depth + 1))
        else:
            pending.extend((part, resolution * config.split_factor, depth + 1) for part in parts)
    return out


def attach_strays(graph: nx.Graph, communities: list[set], vectors: np.ndarray, config: DomainConfig
                  ) -> tuple[dict[int, int], set[int]]:
    """Map node -> community index; strays join their most similar full-size domain with room (under
    ``max_size``), the most similar full-size one where none has room."""
    domain_of: dict[int, int] = {}
    strays: list[int] = []
    for index, community in enumerate(communities):
        for node in community:
            domain_of[node] = index
        if len(community) < config.min_size:
            strays.extend(community)
    stray_set = set(strays)
    anchored = np.asarray(sorted(set(domain_of) - stray_set), dtype=np.int64)
    if not len(anchored):
        return domain_of, set()
    sizes = Counter(domain_of[int(node)] for node in anchored)

    def with_room(candidates: list[int]) -> int:
        """The first (most similar) candidate whose domain is under ``max_size``, else the first."""
        return next((n for n in candidates if sizes[domain_of[n]] < config.max_size), candidates[0])

    unresolved = []
    for node in strays:
        neighbours = sorted(((d.get("weight", 1.0), n) for n, d in graph[node].items() if n not in stray_set),
                            reverse=True)
        best = with_room([n for _, n in neighbours]) if neighbours else None
        if best is None:
            unresolved.append(node)
        else:
            domain_of[node] = domain_of[best]
            sizes[domain_of[node]] += 1
    if unresolved:
        import faiss

        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors[anchored])
        _, hits = index.search(vectors[np.asarray(unresolved)], min(16, len(anchored)))
        for node, row in zip(unresolved, hits):
            best = with_room([int(anchored[h]) for h in row])
            domain_of[node] = domain_of[best]
            sizes[domain_of[node]] += 1
    return domain_of, stray_set


def keep_apis_whole(communities: list[set], apis: list[str | None], max_size: int) -> list[set]:
    """Move each split API's tools (``apis``: the API of each tool, None: none known) into the community holding
    most of them (the lowest index on a tie), unless it would outgrow ``max_size``; communities left empty go."""
    community_of = {node: index for index, community in enumerate(communities) for node in community}
    members: dict[str, list[int]] = {}
    for node, api in enumerate(apis):
        if api is not None:
            members.setdefault(api, []).append(node)
    for api in sorted(members):
        held = Counter(community_of[node] for node in members[api])
        target = min(held, key=lambda index: (-held[index], index))
        if len(held) < 2 or len(communities[target]) + len(members[api]) - held[target] > max_size:
            continue
        for node in members[api]:
            communities[community_of[node]].discard(node)
            communities[target].add(node)
            community_of[node] = target
    return [community for community in communities if community]


def partition(n_tools: int, edges: tuple[np.ndarray, np.ndarray, np.ndarray], vectors: np.ndarray,
              config: DomainConfig, apis: list[str | None] | None = None) -> tuple[np.ndarray, np.ndarray, nx.Graph]:
    """Domain id per tool (0 = largest) and the ``attached`` flag; tools are rows 0..n_tools-1. ``apis``: the API
    each tool belongs to (its toolkit; None where unknown), kept in one domain where it fits."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n_tools))
    graph.add_weighted_edges_from(zip(edges[0].tolist(), edges[1].tolist(), edges[2].tolist()))
    communities = split_giants(graph, detect(graph, config.algorithm, config.resolution, config.seed), config)
    communities.sort(key=min)  # deterministic order before moving and attaching
    if apis is not None and config.keep_apis_whole:  # before the strays: what a move leaves too small is one
        communities = keep_apis_whole(communities, apis, config.max_size)
    domain_of, strays = attach_strays(graph, communities, vectors, config)
    members: dict[int, list[int]] = {}
    for node, community in domain_of.items():
        members.setdefault(community, []).append(node)
    ordered = sorted(members.values(), key=lambda nodes: (-len(nodes), min(nodes)))
    domain_id = np.empty(n_tools, dtype=np.int64)
    for new_id, nodes in enumerate(ordered):
        domain_id[nodes] = new_id
    attached = np.zeros(n_tools, dtype=bool)
    attached[[node for node in strays if len(members[domain_of[node]]) >= config.min_size]] = True
    return domain_id, attached, graph
