"""Per-user explicit memory of preferences: notes in SQLite, retrieval through FAISS, a mem0-style policy."""

from memory.embedders import Embedder, HashingEmbedder, MiniLMEmbedder, MPNetEmbedder, make_embedder
from memory.notes import KINDS, SOURCES, Note, NoteDraft
from memory.policy import Fact, MemoryDecision, MemoryOp, apply, decide
from memory.store import MemoryStore

__all__ = [
    "KINDS",
    "SOURCES",
    "MemoryDecision",
    "Embedder",
    "Fact",
    "HashingEmbedder",
    "MemoryOp",
    "MemoryStore",
    "MiniLMEmbedder",
    "MPNetEmbedder",
    "Note",
    "NoteDraft",
    "apply",
    "decide",
    "make_embedder",
]
