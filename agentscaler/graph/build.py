"""Stage 2: the tool graph, the union of two kinds of edges.

- Parameter edges (the paper's rule): two tools are linked when some pair of their parameters has
  cosine similarity above ``tau``. Weight: the highest such similarity, in (tau, 1], so tools with
  many generic parameters do not dominate the way a pair count would.
- Tool edges: each tool is linked to its ``neighbours`` nearest tools by what the tool is, its
  name and description (the semantic vector) mixed with the words of its name and parameter names
  (the lexical vector, graph/lexical.py). Weight: that similarity. Parameter edges alone leave
  most tools of a small or sparse corpus without any edge (87 of 153 in a held-out mix of ten API
  families), and then attachment, not the graph, decides the partition; every tool has tool edges.

A pair linked both ways gets the sum of both weights. Memory never grows with n²: every search
(exact inner product block by block, or a faiss IVF index for the parameters of a large corpus)
keeps only the top ``top_k`` / ``neighbours`` hits.
A parameter with more than ``top_k`` neighbours above tau loses the weakest ones; they are nearly
always tools already linked through a stronger pair.

Tools are processed in ``tool_id`` order, so the graph does not depend on the order of the input
files, and ties (equal similarities, duplicated descriptions) break the same way every run.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import Field

from agentscaler.artifacts import RunDir, write_json, write_table
from agentscaler.configs import StrictConfig
from agentscaler.console import init_ray
from agentscaler.contracts import GRAPH
from agentscaler.graph.embedders import make_embedder
from agentscaler.graph.lexical import lexical_vectors
from agentscaler.graph.texts import context_text, parameter_texts
from agentscaler.toolspec import ToolSpec


class GraphConfig(StrictConfig):
    """Settings of the tool-graph stage; each is a CLI flag of ``agentscaler graph``."""

    embedder: str = Field("minilm", description="'minilm' (offline default), 'hashing', or 'hf:/local/checkpoint'.")
    tau: float = Field(0.7, description="Link two tools when some parameter pair has cosine similarity above this.")
    context_weight: float = Field(3.0, description="Weight of the tool's context vector in each parameter's vector.")
    top_k: int = Field(32, description="Nearest parameter neighbours kept per parameter (bounds memory).")
    exact_limit: int = Field(
        50_000, description="Parameter rows up to which their search is exact; above it, a faiss IVF index.")
    nprobe: int = Field(12, description="IVF cells each parameter scans when the search is approximate.")
    neighbours: int = Field(5, description="Tool edges: nearest tools linked to each tool (0: parameter edges only).")
    lexical_weight: float = Field(0.5, description="Share of name/parameter-name words in a tool edge's similarity.")
    lexical_dim: int = Field(512, description="Hashed dimensions of the lexical tool vector.")
    max_length: int = Field(32, description="Tokens per embedded string; the cost of embedding is linear in it.")
    batch_size: int = Field(128, description="Strings per model forward pass.")
    embed_actors: int = Field(0, description="Ray Data actor-pool size for embedding; 0: one per CPU.")
    threads_per_actor: int = Field(
        1, description="Torch threads (= CPUs reserved) per embedding actor; 1 keeps vectors bit-identical.")


@dataclass
class ParameterIndex:
    """Every parameter (and every parameter-less tool's context) as one row, with its owning tool."""

    owner: np.ndarray  # tool row of each parameter
    param_string: np.ndarray  # row in the unique-string table, or -1 for a parameter-less tool
    strings: list[str]  # unique parameter strings
    contexts: list[str]  # one per tool


def index_parameters(tools: list[ToolSpec]) -> ParameterIndex:
    string_row: dict[str, int] = {}
    owner, param_string = [], []
    for row, tool in enumerate(tools):
        texts = parameter_texts(tool) or [None]
        for text in texts:
            owner.append(row)
            param_string.append(-1 if text is None else string_row.setdefault(text, len(string_row)))
    return ParameterIndex(np.asarray(owner, dtype=np.int64), np.asarray(param_string, dtype=np.int64),
                          list(string_row), [context_text(tool) for tool in tools])


class _EmbedBatch:
    """Ray Data actor: loads the embedder once, embeds batches of strings."""

    def __init__(self, config: GraphConfig):
        self.embedder = make_embedder(config.embedder, max_length=config.max_length,
                                      batch_size=config.batch_size, threads=config.threads_per_actor)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"text": batch["text"], "vector": self.embedder.embed([str(t) for t in batch["text"]])}


def _cache_path(run: RunDir, config: GraphConfig):
    key = hashlib.sha1(f"{config.embedder}|{config.max_length}".encode()).hexdigest()[:12]
    return run.embeddings / f"cache-{key}.parquet"


def embed_strings(texts: list[str], run: RunDir, config: GraphConfig) -> dict[str, np.ndarray]:
    """Embed unique strings with a Ray Data actor pool; strings embedded by an earlier run are reused."""
    import ray

    cache_file = _cache_path(run, config)
    cache: dict[str, np.ndarray] = {}
    if cache_file.exists():
        table = pq.read_table(cache_file)
        cache = dict(zip(table["text"].to_pylist(), _from_vector_column(table["vector"])))
    missing = sorted({t for t in texts if t not in cache}, key=len)  # length buckets: little padding
    if missing:
        init_ray()
        # One single-threaded actor per CPU: on 2 cores, 1.3x the strings/s of one actor with 2 threads
        # (small matmuls parallelize poorly inside one process).
        cpus = int(ray.cluster_resources().get("CPU", 1))
        actors = config.embed_actors or max(1, cpus // config.threads_per_actor)
        blocks = max(actors * 4, len(missing) // 1024 + 1)  # small blocks: no long tail on one actor
        dataset = ray.data.from_items([{"text": t} for t in missing], override_num_blocks=blocks)
        dataset = dataset.map_batches(_EmbedBatch, fn_constructor_args=(config,), batch_size=1024,
                                      compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
                                      num_cpus=config.threads_per_actor)
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            cache.update(zip(batch["text"].tolist(), batch["vector"]))
        write_table(pa.table({"text": list(cache), "vector": _vector_column(np.stack(list(cache.values())))}),
                    cache_file)
    return cache


def parameter_vectors(index: ParameterIndex, vectors: dict[str, np.ndarray], context_weight: float) -> np.ndarray:
    contexts = np.stack([vectors[t] for t in index.contexts])
    strings = np.stack([vectors[t] for t in index.strings]) if index.strings else np.zeros((0, contexts.shape[1]))
    has_param = index.param_string >= 0
    out = contexts[index.owner].copy()  # a parameter-less tool stands for itself through its context
    out[has_param] = strings[index.param_string[has_param]] + context_weight * contexts[index.owner[has_param]]
    return (out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)


def tool_vectors(tools: list[ToolSpec], contexts: np.ndarray, config: GraphConfig) -> np.ndarray:
    """A tool's vector: its semantic context vector beside its lexical vector, weighted so that the
    inner product of two rows is ``(1 - w) * semantic cosine + w * lexical cosine``."""
    w = config.lexical_weight
    lexical = lexical_vectors(tools, config.lexical_dim) if w > 0 else np.zeros((len(tools), 0), np.float32)
    out = np.hstack([np.sqrt(1 - w) * contexts, np.sqrt(w) * lexical]).astype(np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)


def _pairs_table(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> pa.Table:
    """Undirected pairs (src < dst), each once with its highest weight, sorted."""
    pairs = pa.table({"src": np.minimum(a, b), "dst": np.maximum(a, b), "weight": weight.astype(np.float32)})
    edges = pairs.group_by(["src", "dst"]).aggregate([("weight", "max")]).rename_columns(["src", "dst", "weight"])
    return edges.sort_by([("src", "ascending"), ("dst", "ascending")])  # group_by order is not stable


def _exact_search(vectors: np.ndarray, k: int):
    """Each row's ``k`` nearest rows by inner product, block by block: (start, similarities, hits).

    A torch matmul + topk rather than faiss's flat index: the same exact answer at 3x the speed on
    these CPUs (one 4,096 x 192k x 384 block: 5.8 s against 18.8 s). Blocks hold at most 2**26
    similarities (256 MB) whatever the corpus size."""
    import torch

    data = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    k = min(k, len(vectors))
    block = max(64, (1 << 26) // max(1, len(vectors)))
    with torch.inference_mode():
        for start in range(0, len(vectors), block):
            sims, hits = torch.topk(data[start : start + block] @ data.T, k, dim=1)
            yield start, sims.numpy(), hits.numpy()


def ivf_index(vectors: np.ndarray, nprobe: int):
    """A faiss IVF index over the rows: a query scans the ``nprobe`` of ~2*sqrt(n) k-means cells nearest
    to it. Training is seeded and searches are per query, so a rerun gives the same hits. On the full
    corpus's 175k parameter rows, at nprobe 12, it finds 98.8% of the pairs above tau that the exact
    search finds, in a third of its time (benchmarks/bench_graph_search.py)."""
    import faiss

    dim = vectors.shape[1]
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, int(2 * np.sqrt(len(vectors))), faiss.METRIC_INNER_PRODUCT)
    index.cp.niter, index.cp.max_points_per_centroid, index.cp.seed = 10, 64, 1234
    index.train(vectors)
    index.add(vectors)
    index.nprobe = nprobe
    return index


def _approximate_search(vectors: np.ndarray, k: int, nprobe: int, block: int = 8192):
    """Like ``_exact_search``, through ``ivf_index``."""
    index = ivf_index(vectors, nprobe)
    k = min(k, len(vectors))
    for start in range(0, len(vectors), block):
        yield start, *index.search(vectors[start : start + block], k)


def link_neighbours(vectors: np.ndarray, neighbours: int) -> pa.Table:
    """Each tool linked to its ``neighbours`` nearest other tools; weight = their similarity (> 0)."""
    src_parts, dst_parts, weight_parts = [], [], []
    for start, sims, hits in _exact_search(vectors, neighbours + 1):
        query = np.arange(start, start + len(hits))[:, None]
        keep = (hits >= 0) & (hits != query) & (sims > 0)
        src_parts.append(np.broadcast_to(query, hits.shape)[keep])
        dst_parts.append(hits[keep])
        weight_parts.append(sims[keep])
    return _pairs_table(np.concatenate(src_parts), np.concatenate(dst_parts), np.concatenate(weight_parts))


def link_tools(param_vecs: np.ndarray, owner: np.ndarray, tau: float, top_k: int,
               exact_limit: int = 50_000, nprobe: int = 12) -> pa.Table:
    """Tool pairs (src < dst) with some parameter pair above ``tau``; weight = best similarity.
    Exact up to ``exact_limit`` parameter rows, approximate (IVF) above it."""
    if len(param_vecs) <= exact_limit:
        searches = _exact_search(param_vecs, top_k + 1)
    else:
        searches = _approximate_search(param_vecs, top_k + 1, nprobe)
    src_parts, dst_parts, weight_parts = [], [], []
    for start, sims, hits in searches:
        query_owner = owner[start : start + len(hits), None]
        hit_owner = owner[hits.clip(0)]
        keep = (sims > tau) & (hits >= 0) & (hit_owner != query_owner)
        src_parts.append(np.broadcast_to(query_owner, hits.shape)[keep])
        dst_parts.append(hit_owner[keep])
        weight_parts.append(sims[keep])
    return _pairs_table(np.concatenate(src_parts), np.concatenate(dst_parts), np.concatenate(weight_parts))


def merge_edges(*tables: pa.Table) -> pa.Table:
    """The union of edge tables; a pair present in several gets the sum of its weights."""
    edges = pa.concat_tables(tables).group_by(["src", "dst"]).aggregate([("weight", "sum")])
    return edges.rename_columns(["src", "dst", "weight"]).sort_by([("src", "ascending"), ("dst", "ascending")])


def build_graph(run_dir, config: GraphConfig | None = None) -> dict:
    """Embed, link and write ``graph.parquet`` and ``embeddings/tools.parquet``; returns the summary."""
    config = config or GraphConfig()
    run = RunDir(run_dir)
    tools = sorted(run.read_tools(), key=lambda tool: tool.tool_id)
    started = time.perf_counter()
    index = index_parameters(tools)
    vectors = embed_strings(index.strings + index.contexts, run, config)
    embedded = time.perf_counter()
    param_vecs = parameter_vectors(index, vectors, config.context_weight)
    parameter_edges = link_tools(param_vecs, index.owner, config.tau, config.top_k, config.exact_limit,
                                 config.nprobe)
    vecs = tool_vectors(tools, np.stack([vectors[t] for t in index.contexts]), config)
    tool_edges = link_neighbours(vecs, config.neighbours) if config.neighbours else parameter_edges.slice(0, 0)
    edges = merge_edges(parameter_edges, tool_edges)
    tool_ids = np.asarray([tool.tool_id for tool in tools])
    graph = pa.table({"src": tool_ids[edges["src"].to_numpy()], "dst": tool_ids[edges["dst"].to_numpy()],
                      "weight": edges["weight"].cast(pa.float64())}, schema=GRAPH)
    write_table(pa.table({"tool_id": tool_ids, "vector": _vector_column(vecs)}), run.embeddings / "tools.parquet")
    write_table(graph, run.graph)
    linked = np.unique(np.concatenate([parameter_edges["src"].to_numpy(), parameter_edges["dst"].to_numpy()]))
    summary = {
        "config": config.model_dump(),
        "tools": len(tools),
        "parameters": int(len(index.owner)),
        "unique_strings_embedded": len(index.strings) + len(set(index.contexts)),
        "edges": graph.num_rows,
        "parameter_edges": parameter_edges.num_rows,
        "tool_edges": tool_edges.num_rows,
        "tools_without_parameter_edges": len(tools) - len(linked),
        "seconds_embedding": round(embedded - started, 2),
        "seconds_linking": round(time.perf_counter() - embedded, 2),
    }
    write_json(summary, run.graph_summary)
    return summary


def read_tool_vectors(run: RunDir) -> tuple[list[str], np.ndarray]:
    table = pq.read_table(run.require(run.embeddings / "tools.parquet"))
    return table["tool_id"].to_pylist(), _from_vector_column(table["vector"])


def _vector_column(vectors: np.ndarray) -> pa.FixedSizeListArray:
    """Rows of a float32 matrix as a Parquet fixed-size-list column."""
    return pa.FixedSizeListArray.from_arrays(vectors.astype(np.float32).ravel(), vectors.shape[1])


def _from_vector_column(column: pa.ChunkedArray) -> np.ndarray:
    return np.stack(column.to_numpy(zero_copy_only=False)).astype(np.float32)
