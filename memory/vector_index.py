"""The FAISS side of the memory: every active note's vector, keyed by note id, persisted to one file.

Layout: one `IndexIDMap2` over an exact `IndexFlatIP` for all users. A one-user search never scans it:
the store asks SQLite for that user's active note ids and fetches just those vectors with
`reconstruct_batch` (about 5 us for 10 ids at 1M vectors), where a FAISS search restricted by an id
selector still walks all vectors (about 2 ms at 1M). The file is a cache of the SQLite store: it is
rewritten on flush only, and synced against SQLite when loaded.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)


class CorruptIndexError(Exception):
    """The index file exists but cannot be used; the caller rebuilds it from SQLite."""


class IndexDimensionError(ValueError):
    """The index file holds vectors of another dimension than the store."""


class VectorIndex:
    """Note vectors by id: add, remove, fetch by id, save atomically, load with checks."""

    def __init__(self, dim: int, index: faiss.IndexIDMap2 | None = None):
        self.dim = dim
        self.index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._present = np.zeros(1024, dtype=bool)
        self._mark(self.ids(), True)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """Every note id held, as int64 (a copy)."""
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def _mark(self, ids: np.ndarray, value: bool) -> None:
        if ids.size == 0:
            return
        top = int(ids.max())
        if top >= self._present.size:
            grown = np.zeros(max(top + 1, 2 * self._present.size), dtype=bool)
            grown[: self._present.size] = self._present
            self._present = grown
        self._present[ids] = value

    def missing(self, ids: np.ndarray) -> np.ndarray:
        """The ids of `ids` that have no vector here (for example, written by another process)."""
        inside = ids < self._present.size
        known = np.zeros(ids.shape, dtype=bool)
        known[inside] = self._present[ids[inside]]
        return ids[~known]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if ids.size == 0:
            return
        fresh = self.missing(ids)
        if fresh.size != ids.size:
            keep = np.isin(ids, fresh)
            ids, vectors = ids[keep], vectors[keep]
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._mark(ids, True)

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id; one pass over the whole index, so batch removals."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if ids.size == 0:
            return 0
        removed = int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))
        self._mark(ids, False)
        return removed

    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """Vectors for ids that are all present (check with `missing` first)."""
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def save(self, path: Path) -> None:
        """Write to a temporary file beside `path` and rename it, so readers never see half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            faiss.write_index(self.index, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, dim: int) -> VectorIndex:
        """Read an index file; FileNotFoundError, CorruptIndexError or IndexDimensionError if unusable."""
        if not path.exists():
            raise FileNotFoundError(path)
        try:
            raw = faiss.read_index(str(path))
        except (RuntimeError, MemoryError) as exc:
            raise CorruptIndexError(f"unreadable index file {path}: {exc}") from exc
        if not isinstance(raw, faiss.IndexIDMap2):
            raise CorruptIndexError(f"{path} holds a {type(raw).__name__}, expected an IndexIDMap2")
        inner = faiss.downcast_index(raw.index)
        if not isinstance(inner, faiss.IndexFlatIP):
            raise CorruptIndexError(f"{path} wraps a {type(inner).__name__}, expected an IndexFlatIP")
        if raw.d != dim:
            raise IndexDimensionError(f"index file {path} holds {raw.d}-dim vectors but the store uses {dim}-dim")
        if raw.id_map.size() != raw.ntotal:
            raise CorruptIndexError(f"{path} has {raw.ntotal} vectors but {raw.id_map.size()} ids")
        return cls(dim, raw)
