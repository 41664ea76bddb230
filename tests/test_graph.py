"""Stage 2: which tools get linked, and that memory stays bounded by top-k."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from agentscaler.artifacts import RunDir, write_table
from agentscaler.graph import GraphConfig, HashingEmbedder, build_graph, make_embedder, read_tool_vectors
from agentscaler.graph.build import index_parameters, link_neighbours, link_tools
from agentscaler.graph.lexical import lexical_vectors
from agentscaler.graph.embedders import split_identifier
from agentscaler.toolspec import ToolSpec

import pyarrow as pa


def tool(name: str, description: str, **params: str) -> ToolSpec:
    return ToolSpec.build(name=name, description=description, source="test", parameters={
        "type": "object", "properties": {p: {"type": "string", "description": d} for p, d in params.items()},
        "required": list(params)})


# Two providers whose APIs share what their parameters mean (named as ToolBench names them), and
# one tool that shares nothing with either.
KNOWN = [
    tool("current_weather_for_openweather", "Get the current weather for a city", city="City name, e.g. London"),
    tool("weather_forecast_for_openweather", "Get the weather forecast for a city", city="City name, e.g. Paris",
         days="Number of days to forecast"),
    tool("stock_quote_for_yahoo_finance", "Get the latest stock quote for a ticker symbol",
         symbol="Stock ticker symbol, e.g. AAPL"),
    tool("stock_history_for_yahoo_finance", "Get historical stock prices for a ticker symbol",
         symbol="Stock ticker symbol, e.g. MSFT"),
    tool("translate_text", "Translate text into another language", text="The text to translate",
         target_language="ISO code of the language to translate into"),
]


def write_run(tmp_path, tools: list[ToolSpec]) -> RunDir:
    run = RunDir(tmp_path)
    write_table(pa.Table.from_pylist([t.to_row() for t in tools]), run.tools)
    return run


@pytest.fixture(scope="module")
def minilm():
    return make_embedder("minilm", threads=1)  # as each embedding actor runs it


def test_known_links_with_the_default_embedder(tmp_path, ray_session):
    run = write_run(tmp_path, KNOWN)
    summary = build_graph(tmp_path)  # the default settings
    graph = pq.read_table(run.graph).to_pylist()
    weight = {frozenset((e["src"], e["dst"])): e["weight"] for e in graph}
    ids = {t.name: t.tool_id for t in KNOWN}
    weather = frozenset((ids["current_weather_for_openweather"], ids["weather_forecast_for_openweather"]))
    finance = frozenset((ids["stock_quote_for_yahoo_finance"], ids["stock_history_for_yahoo_finance"]))
    others = [w for pair, w in weight.items() if pair not in (weather, finance)]
    assert min(weight[weather], weight[finance]) > max(others) + 0.5  # a parameter edge on top of a tool edge
    assert summary["tools_without_parameter_edges"] == 1  # translate_text shares no parameter
    assert summary["parameter_edges"] == 2 and summary["tool_edges"] >= 8  # of 10 pairs: those similar at all
    tool_ids, vectors = read_tool_vectors(run)
    assert sorted(tool_ids) == tool_ids == sorted(t.tool_id for t in KNOWN)  # tool_id order, not input order
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_rerun_reuses_the_embedding_cache(tmp_path, ray_session, monkeypatch):
    write_run(tmp_path, KNOWN)
    first = build_graph(tmp_path)
    import agentscaler.graph.build as build

    monkeypatch.setattr(build, "_EmbedBatch", None)  # any new embedding would now fail
    assert build_graph(tmp_path, GraphConfig(tau=0.1))["parameter_edges"] > first["parameter_edges"]


def test_context_separates_same_named_parameters(minilm):
    """A `query` in a weather API and a `query` in a recipe API must not look the same."""
    index = index_parameters([tool("search_weather", "Weather for a place", query="Search query"),
                              tool("find_recipes", "Cooking recipes by ingredient", query="Search query")])
    assert len(index.strings) == 1  # the parameter string is embedded once for both tools
    vectors = minilm.embed(index.strings + index.contexts)
    bare = float(vectors[0] @ vectors[0])
    combined = [(vectors[0] + vectors[1 + i]) / np.linalg.norm(vectors[0] + vectors[1 + i]) for i in range(2)]
    assert float(combined[0] @ combined[1]) < bare - 0.1


def test_link_tools_keeps_best_similarity_and_skips_self_links():
    vectors = np.eye(4, dtype=np.float32)
    vectors[1] = vectors[0]  # tool 0's two parameters are identical: no self-link
    vectors[2] = (vectors[0] + 0.2 * vectors[3]) / np.linalg.norm(vectors[0] + 0.2 * vectors[3])
    owner = np.array([0, 0, 1, 2])
    edges = link_tools(vectors, owner, tau=0.5, top_k=3).to_pylist()
    assert edges == [{"src": 0, "dst": 1, "weight": pytest.approx(float(vectors[0] @ vectors[2]))}]


def test_top_k_bounds_candidates():
    rng = np.random.default_rng(0)
    vectors = np.repeat(rng.normal(size=(1, 8)), 50, axis=0).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    edges = link_tools(vectors, np.arange(50), tau=0.5, top_k=4)
    assert 0 < edges.num_rows <= 50 * (4 + 1)  # top_k plus the query itself; a clique would give 1,225


def test_parameterless_tools_stand_for_themselves():
    index = index_parameters([tool("ping", "Check the service is up"), KNOWN[0]])
    assert index.owner.tolist() == [0, 1] and index.param_string.tolist() == [-1, 0]


def test_hashing_fallback_is_deterministic_and_normalized():
    first = HashingEmbedder().embed(["user id", "user_id", "zip code"])
    assert np.allclose(first, HashingEmbedder().embed(["user id", "user_id", "zip code"]))
    assert np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
    assert first[0] @ first[1] > 0.99 and first[0] @ first[2] < 0.5


def test_split_identifier():
    assert split_identifier("getUserID") == "get User ID"
    assert split_identifier("math.factorial") == "math factorial"
    assert split_identifier("get_user-id") == "get user id"


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown embedder"):
        make_embedder("word2vec")


def test_a_texts_vector_does_not_depend_on_its_batch(minilm):
    """Padding decides the last bits of a vector: equal inputs must give equal graphs at 40k tools.

    With one thread per actor (the default) a row's bits depend on its padded length only."""
    text = "user id: the id of the user"
    alone = minilm.embed([text])[0]
    crowded = minilm.embed(["zip", "a much longer description of the weather forecast for a city", text] * 5)
    assert all(np.array_equal(alone, row) for row in crowded[2::3])


def test_tool_neighbours_keep_top_k_and_never_an_n_by_n_matrix():
    import resource

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30_000, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    edges = link_neighbours(vectors, 5)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 1_000_000  # an n x n float32 matrix would be 3.6 GB
    assert 30_000 * 5 / 2 <= edges.num_rows <= 30_000 * 5
    assert (edges["src"].to_numpy() < edges["dst"].to_numpy()).all()


def test_lexical_vectors_weigh_rare_words_over_common_ones():
    names = ["create_invoice", "listInvoices", "get_user", "list_users", "list_orders", "list_projects"]
    rows = lexical_vectors([tool(name, "", account_id="The account") for name in names], 512)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1, atol=1e-5)
    share_invoice, share_list = rows[0] @ rows[1], rows[4] @ rows[5]
    assert share_invoice > share_list > rows[0] @ rows[2] > 0  # `list` is in 4 of 6, `account_id` in all


def test_approximate_parameter_search_finds_the_exact_pairs_and_repeats_itself():
    """Above ``exact_limit`` rows the IVF index replaces the exact search: on clustered vectors it
    finds nearly all pairs above tau, and a second run gives the identical table."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(200, 32))
    vectors = (np.repeat(centres, 20, axis=0) + 0.3 * rng.normal(size=(4000, 32))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owner = np.arange(4000) // 2  # two parameters per tool
    exact = link_tools(vectors, owner, tau=0.7, top_k=8)
    approximate = link_tools(vectors, owner, tau=0.7, top_k=8, exact_limit=100, nprobe=4)
    pairs = lambda table: set(zip(table["src"].to_pylist(), table["dst"].to_pylist()))  # noqa: E731
    assert exact.num_rows > 1000
    assert len(pairs(exact) & pairs(approximate)) >= 0.95 * len(pairs(exact))
    assert approximate.equals(link_tools(vectors, owner, tau=0.7, top_k=8, exact_limit=100, nprobe=4))
