"""How good a partition is, in the terms that decide whether domains make environments."""

from __future__ import annotations

from collections import Counter

import networkx as nx
import numpy as np

SIZE_BUCKETS = [(1, 2), (3, 9), (10, 29), (30, 99), (100, 299), (300, 999), (1000, None)]


def size_histogram(sizes: np.ndarray) -> dict[str, int]:
    out = {}
    for low, high in SIZE_BUCKETS:
        label = f"{low}-{high}" if high else f"{low}+"
        out[label] = int(((sizes >= low) & (sizes <= (high or np.inf))).sum())
    return out


def category_purity(domain_id: np.ndarray, categories: list[str | None]) -> float | None:
    """Share of categorized tools whose domain's majority category is their own (None: no categories)."""
    per_domain: dict[int, Counter] = {}
    for domain, category in zip(domain_id.tolist(), categories):
        if category:
            per_domain.setdefault(domain, Counter())[category] += 1
    total = sum(sum(c.values()) for c in per_domain.values())
    return sum(c.most_common(1)[0][1] for c in per_domain.values()) / total if total else None


def coherence(domain_id: np.ndarray, vectors: np.ndarray) -> float:
    """Mean cosine between a tool and its domain's centroid: 1.0 when every domain is one idea."""
    n_domains = int(domain_id.max()) + 1
    centroids = np.zeros((n_domains, vectors.shape[1]), dtype=np.float64)
    np.add.at(centroids, domain_id, vectors)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True).clip(1e-12)
    return float((vectors * centroids[domain_id]).sum(axis=1).mean())


def summarize(domain_id: np.ndarray, attached: np.ndarray, graph: nx.Graph, vectors: np.ndarray,
              categories: list[str | None], min_size: int, max_usable: int = 1000) -> dict:
    sizes = np.bincount(domain_id)
    usable = (sizes >= min_size) & (sizes <= max_usable)
    communities: dict[int, set] = {}
    for node, domain in enumerate(domain_id.tolist()):
        communities.setdefault(domain, set()).add(node)
    modularity = (nx.community.modularity(graph, communities.values(), weight="weight")
                  if graph.number_of_edges() else 0.0)
    purity = category_purity(domain_id, categories)
    return {
        "tools": int(len(domain_id)),
        "domains": int(len(sizes)),
        f"domains_with_at_least_{min_size}_tools": int((sizes >= min_size).sum()),
        "small_domains": int((sizes < min_size).sum()),
        f"share_of_tools_in_domains_of_{min_size}_to_{max_usable}": round(float(sizes[usable].sum() / len(domain_id)), 4),
        "largest_domain": int(sizes.max()),
        "median_domain_size": float(np.median(sizes)),
        "attached_tools": int(attached.sum()),
        "size_histogram": size_histogram(sizes),
        "modularity": round(float(modularity), 4),
        "category_purity": None if purity is None else round(purity, 4),
        "coherence": round(coherence(domain_id, vectors), 4),
    }
