"""How alike two tasks are as situations, when a person words the same situation differently every time.

A task is a situation and a request: "Snow is falling and my fingers are numb. Could you bring me something?"
The request is worded alike across all of a person's situations, so the cosine of whole tasks is pulled
toward it, and two different situations with the same request look closer than the same situation asked
for another way. Cutting requests out with word lists would only fit the wordings we wrote. Instead each
sentence counts by how unlike it is to the sentences of the *other* tasks in view: a sentence that could
belong to any of them says little about which situation this is. A remembered task is recalled as far as its
sentences, so weighted, each find a counterpart in the new task. Nothing here knows English beyond where
sentences end.

What was on the table is part of the situation too: a morning brings out coffee and tea, a party wine and
cake, whatever words the person picks. A situation key therefore carries the scene's names beside the task
(`situation_key`), and two situations count as alike by their tasks and, with `SCENE_WEIGHT`, by how well
each scene's names find a counterpart in the other's.
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

SCENE_WEIGHT = 0.5
"""How much the scene counts beside the task: the smallest of 0, 0.25, 0.5, 1 and 2 within one point of the best
leave-one-out situation retrieval on bundled phase-1 tasks (`python benchmarks/calibrate.py`: 0.966 against
0.969 for 1)."""

SEEN = "\nSeen: "
"""Where a situation key's task ends and the names of what was on the table begin."""


def situation_key(task: str, seen: Sequence[str]) -> str:
    """The text a situation is remembered by: the task as said, then what was on the table."""
    return task + SEEN + "; ".join(seen) if seen else task


def split_key(key: str) -> tuple[str, tuple[str, ...]]:
    """The task and the scene's names of a situation key; a key written without a scene has none."""
    task, _, seen = key.partition(SEEN)
    return task, tuple(name for name in seen.split("; ") if name)


def centred(vectors: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """`vectors` with what `sample` has in common taken out, renormalised.

    Every vector of one person's tasks (or of the names on their tables) shares a direction: how this
    person asks, what kind of home this is. Cosines measured from the origin count that shared part as
    likeness, so everything looks alike; measured from the sample's mean they count what differs. The mean
    of n vectors is shrunk by n / (n + 1), as if one more vector at the origin were in the sample, so one
    remembered task is not centred into its own opposite."""
    n = len(sample)
    shifted = vectors - sample.mean(axis=0) * (n / (n + 1)) if n else vectors
    return shifted / np.maximum(np.linalg.norm(shifted, axis=1, keepdims=True), 1e-12)


def sentences_of(text: str) -> list[str]:
    return [part for part in SENTENCE_END.split(text.strip()) if part] or [text]


class SituationMatcher:
    """Scores a situation key against remembered ones: tasks weighted sentence by sentence, and scenes."""

    def __init__(self, embedder: Embedder, scene_weight: float = SCENE_WEIGHT):
        self.embedder = embedder
        self.scene_weight = scene_weight

    def similarities(self, situation: str, remembered: Sequence[str]) -> np.ndarray:
        """How alike `situation` is to each remembered situation, in [-1, 1]: how much of the remembered task
        the new one says again, sentence by sentence, each sentence weighted by how distinctive it is among
        all of them (`_recalled`), blended with the scene match where both keys have a scene."""
        if not remembered:
            return np.zeros(0, dtype=np.float32)
        task, seen = split_key(situation)
        parts = [split_key(key) for key in remembered]
        texts = list(dict.fromkeys([task, *(other for other, _ in parts)]))
        row = {text: i for i, text in enumerate(texts)}
        rows = [row[other] for other, _ in parts]
        scores = self._recalled(texts, np.unique(rows))[rows]  # a wording remembered twice counts once
        if seen and self.scene_weight:
            scenes = self.scene_similarities(seen, [other_seen for _, other_seen in parts])
            has_scene = np.array([bool(other_seen) for _, other_seen in parts])
            blended = (scores + self.scene_weight * scenes) / (1.0 + self.scene_weight)
            scores = np.where(has_scene, blended, scores).astype(np.float32)
        return scores

    def scene_similarities(self, seen: Sequence[str], others: Sequence[Sequence[str]]) -> np.ndarray:
        """How well a scene's names and each other scene's find a counterpart in one another (mean best
        cosine, both ways, measured from the mean of all the names in view: `centred`); 0 for an empty scene."""
        names = list(dict.fromkeys([*seen, *(name for other in others for name in other)]))
        column = {name: i for i, name in enumerate(names)}
        vectors = self.embedder.embed(names)
        vectors = centred(vectors, vectors)
        mine = vectors[[column[name] for name in seen]]
        scores = np.zeros(len(others), dtype=np.float32)
        for i, other in enumerate(others):
            if other:
                cosines = mine @ vectors[[column[name] for name in other]].T
                scores[i] = (cosines.max(axis=1).mean() + cosines.max(axis=0).mean()) / 2.0
        return scores

    def _recalled(self, texts: list[str], remembered: np.ndarray) -> np.ndarray:
        """For each text, how much of it `texts[0]` says again: every sentence of it finds its closest sentence
        of `texts[0]`, and those cosines are averaged, each weighted by how distinctive the sentence is.

        Cosines are measured from the mean of the `remembered` texts' sentences (`centred`). Sentences are
        matched one by one rather than averaged into one vector per task, so that what set a remembered
        situation apart ("The meteor shower is over.") has to find a counterpart in the new task, whatever
        else the new task says around it."""
        sentences = [sentences_of(text) for text in texts]
        vectors = self.embedder.embed([s for group in sentences for s in group])
        owner = np.repeat(np.arange(len(texts)), [len(group) for group in sentences])
        weights = self._distinctiveness(vectors, owner)
        vectors = centred(vectors, vectors[np.isin(owner, remembered)])
        said_again = (vectors[owner == 0] @ vectors.T).max(axis=0)
        recalled = np.bincount(owner, weights * said_again) / np.bincount(owner, weights)
        return np.clip(recalled, -1.0, 1.0)

    @staticmethod
    def _distinctiveness(vectors: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """One minus a sentence's typicality: its mean cosine to its `TYPICAL_NEIGHBOURS` closest sentences
        of the other texts (at least `LEAST_WEIGHT`)."""
        cosines = vectors @ vectors.T
        weights = np.ones(len(vectors), dtype=np.float64)
        for i in np.unique(owner):
            mine = owner == i
            against_others = cosines[np.ix_(mine, ~mine)]
            if against_others.shape[1]:
                k = min(TYPICAL_NEIGHBOURS, against_others.shape[1])
                typicality = np.sort(against_others, axis=1)[:, -k:].mean(axis=1)
                weights[mine] = np.clip(1.0 - typicality, LEAST_WEIGHT, None)
        return weights
