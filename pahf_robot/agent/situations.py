"""How alike two tasks are as situations, when a person words the same situation differently every time.

A task is a situation and a request: "Snow is falling and my fingers are numb. Could you bring me something?"
The request is worded alike across all of a person's situations, so the cosine of whole tasks is pulled
toward it, and two different situations with the same request look closer than the same situation asked
for another way. Cutting requests out with word lists would only fit the wordings we wrote. Instead each
sentence counts by how unlike it is to the sentences of the *other* tasks in view: a sentence that could
belong to any of them says little about which situation this is. Nothing here knows English beyond where
sentences end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from memory.embedders import Embedder

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

TYPICAL_NEIGHBOURS = 5
"""A sentence's typicality is its mean cosine to its this-many closest sentences of other tasks; chosen by
leave-one-out situation retrieval on bundled phase-1 tasks (3, 5 and 10 are within 2 points of each other)."""

LEAST_WEIGHT = 0.02
"""Floor on a sentence's weight, so a task whose every sentence is typical still has a direction."""


def sentences_of(text: str) -> list[str]:
    return [part for part in SENTENCE_END.split(text.strip()) if part] or [text]


class SituationMatcher:
    """Scores a task against remembered tasks as situations, each weighted sentence by sentence (see above)."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder

    def similarities(self, task: str, remembered: Sequence[str]) -> np.ndarray:
        """Cosine between `task` and each remembered task, after weighting every task's sentences by how
        distinctive they are among `task` and the remembered tasks together."""
        if not remembered:
            return np.zeros(0, dtype=np.float32)
        texts = list(dict.fromkeys([task, *remembered]))
        keys = self._keys(texts)
        row = {text: i for i, text in enumerate(texts)}
        return np.clip(keys[[row[text] for text in remembered]] @ keys[0], -1.0, 1.0)

    def _keys(self, texts: list[str]) -> np.ndarray:
        sentences = [sentences_of(text) for text in texts]
        vectors = self.embedder.embed([s for group in sentences for s in group])
        owner = np.repeat(np.arange(len(texts)), [len(group) for group in sentences])
        cosines = vectors @ vectors.T
        keys = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        for i in range(len(texts)):
            mine = owner == i
            against_others = cosines[np.ix_(mine, ~mine)]
            weights = np.ones(int(mine.sum()), dtype=np.float32)
            if against_others.shape[1]:
                k = min(TYPICAL_NEIGHBOURS, against_others.shape[1])
                typicality = np.sort(against_others, axis=1)[:, -k:].mean(axis=1)
                weights = np.clip(1.0 - typicality, LEAST_WEIGHT, None)
            key = weights @ vectors[mine]
            keys[i] = key / max(float(np.linalg.norm(key)), 1e-12)
        return keys
