"""The filters' thresholds, in one documented model: the report records them, so a funnel says what it measured."""

from __future__ import annotations

from pydantic import Field

from agentscaler.configs import StrictConfig


class FilterConfig(StrictConfig):
    # validity: budgets
    max_messages: int = Field(64, description="Most messages a trajectory may have (system, user, assistant, tool).")
    max_tool_calls: int = Field(32, description="Most tool calls a trajectory may make.")
    max_chars: int = Field(48_000, description="Most characters of content and call arguments over all messages.")
    max_message_chars: int = Field(8_000, description="Most characters in one message's content.")
    # validity: repetition loops (the paper's n-gram check)
    max_call_repeats: int = Field(
        2, description="The same call (name and normalized arguments) may appear this many times; one more is a loop.")
    max_sentence_repeats: int = Field(
        3, description="An assistant sentence of at least min_sentence_words words may appear this many times "
                       "over all assistant turns; one more is a loop.")
    min_sentence_words: int = Field(4, description="Shorter sentences ('Done.', 'Sure!') never count as loops.")
    ngram_size: int = Field(6, description="Word n-gram length of the within-message degeneration check.")
    max_ngram_repeats: int = Field(
        3, description="A word n-gram may appear this many times inside one assistant message; one more is a loop.")
    # dedup
    shingle_words: int = Field(3, description="Near-duplicate shingles: word n-grams of the normalized dialogue.")
    minhash_permutations: int = Field(64, description="MinHash signature length (estimate error ~ 1/sqrt(this)).")
    minhash_bands: int = Field(16, description="LSH bands (permutations / bands rows each) to find candidate pairs.")
    near_duplicate_threshold: float = Field(
        0.8, description="Two kept trajectories of one domain with the same call names whose estimated Jaccard "
                         "similarity of dialogue shingles reaches this are near duplicates; the later one goes.")
    # execution
    batch_size: int = Field(512, description="Trajectories per Ray Data batch.")
    block_bytes: int = Field(8 << 20, description="Ray Data block size while filtering: small enough that one "
                                                   "large rollouts file still becomes many parallel tasks.")
