"""The note store: isolation, history, forgetting, persistence and recovery of the FAISS index."""

import json
import logging
import random

import numpy as np
import pytest

from memory.embedders import HashingEmbedder
from memory.notes import NoteDraft
from memory.store import MemoryStore
from memory.vector_index import VectorIndex

SITUATIONS = [
    "I can barely keep my eyes open, could you bring me something to drink?",
    "It is scorching hot today, bring me something cold.",
    "We are celebrating tonight, get me a drink.",
    "Please put the wine glass away.",
    "I have a sore throat, bring me something warm.",
]


@pytest.fixture
def db(tmp_path):
    return tmp_path / "memory.db"


@pytest.fixture
def store(db):
    with MemoryStore(db, HashingEmbedder()) as store:
        yield store


def add(store, user, situation=SITUATIONS[0], value="herbal tea", kind="object"):
    return store.add(user, situation, kind, value, f"When the user says {situation!r}, they want {value}.", "feedback")


def test_add_and_search_best_first(store):
    values = ["herbal tea", "iced water", "champagne", "cabinet", "warm milk"]
    for situation, value in zip(SITUATIONS, values, strict=True):
        add(store, "alice", situation, value, kind="place" if value == "cabinet" else "object")
    hits = store.search("alice", "I can barely keep my eyes open, bring me something to drink", k=3)
    assert [note.value for note, _ in hits][0] == "herbal tea"
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= s <= 1.0001 for s in scores)
    assert [n.value for n, _ in store.search("alice", "put away", kind="place")] == ["cabinet"]
    assert store.search("alice", "anything", k=0) == []
    assert store.search("nobody", "anything") == []


def test_only_a_situations_first_line_is_embedded_and_the_rest_is_kept(store):
    detailed = SITUATIONS[0] + "\nSeen: champagne; birthday cake; party hats"
    note = add(store, "alice", detailed)
    [(found, score)] = store.search("alice", SITUATIONS[0], k=1)
    assert found.situation == detailed and score == pytest.approx(1.0, abs=1e-5)
    assert store.find_similar("alice", SITUATIONS[0] + "\nSeen: umbrella", threshold=0.999)[0][0].id == note.id


def test_find_similar_applies_the_threshold(store):
    exact = add(store, "alice")
    add(store, "alice", SITUATIONS[3], "cabinet", kind="place")
    similar = store.find_similar("alice", SITUATIONS[0], threshold=0.99)
    assert [(note.id, round(score, 4)) for note, score in similar] == [(exact.id, 1.0)]


def test_no_search_ever_returns_another_users_note(store):
    rng = random.Random(0)
    users = [f"user{i:04d}" for i in range(1000)]
    drafts = [
        NoteDraft(
            user, rng.choice(SITUATIONS) + f" #{j}", rng.choice(["object", "place"]), f"v{j}", "t", "clarification"
        )
        for user in users
        for j in range(rng.randint(1, 4))
    ]
    ids = store.add_many(drafts)
    assert ids == list(range(ids[0], ids[0] + len(drafts)))
    owned = {}
    for draft in drafts:
        owned.setdefault(draft.user_id, 0)
        owned[draft.user_id] += 1
    for _ in range(500):
        user = rng.choice(users + ["stranger"])
        query = rng.choice(SITUATIONS) + " " + rng.choice(["please", "now", "quickly"])
        hits = store.search(user, query, k=10)
        assert all(note.user_id == user for note, _ in hits)
        assert len(hits) == owned.get(user, 0)
        assert all(note.user_id == user for note, _ in store.find_similar(user, query, threshold=-1.0))


def test_supersede_keeps_history_and_hides_the_old_note(store):
    old = add(store, "alice", value="herbal tea")
    new = store.supersede("alice", old.id, value="black coffee", text="now black coffee")
    assert (new.value, new.situation, new.support, new.superseded_by) == ("black coffee", old.situation, 1, None)
    assert store.get("alice", old.id).superseded_by == new.id
    for _ in range(3):
        assert [n.id for n, _ in store.search("alice", old.situation)] == [new.id]
    history = store.export("alice")["history"]
    assert [(n["id"], n["value"], n["superseded_by"]) for n in history] == [(old.id, "herbal tea", new.id)]
    moved = store.supersede("alice", new.id, situation="I am sleepy, a drink please")
    assert [n.id for n, _ in store.search("alice", "I am sleepy, a drink please")] == [moved.id]


def test_supersede_and_reinforce_guard_ownership_and_state(store):
    note = add(store, "alice")
    with pytest.raises(KeyError):
        store.supersede("bob", note.id, value="x")
    with pytest.raises(TypeError):
        store.supersede("alice", note.id, colour="red")
    store.supersede("alice", note.id, value="coffee")
    with pytest.raises(ValueError, match="already superseded"):
        store.supersede("alice", note.id, value="tea")
    with pytest.raises(KeyError):
        store.reinforce("alice", note.id)


def test_reinforce_counts_support_and_never_below_zero(store):
    note = add(store, "alice")
    assert store.reinforce("alice", note.id).support == 2
    assert store.reinforce("alice", note.id, delta=-5).support == 0
    with pytest.raises(KeyError):
        store.reinforce("bob", note.id)


def test_add_validates_fields(store):
    with pytest.raises(ValueError, match="kind"):
        store.add("alice", "s", "colour", "red", "t", "feedback")
    with pytest.raises(ValueError, match="source"):
        store.add("alice", "s", "object", "red", "t", "rumour")
    with pytest.raises(ValueError, match="user_id"):
        store.add("", "s", "object", "red", "t", "feedback")


def test_forget_removes_one_user_everywhere(store, db):
    old = add(store, "alice")
    store.supersede("alice", old.id, value="coffee")
    add(store, "alice", SITUATIONS[3], "cabinet", kind="place")
    keep = [add(store, "bob", s, "b") for s in SITUATIONS]
    alice_ids = [n.id for n in store.notes("alice", include_superseded=True)]

    assert store.forget("alice") == 3
    assert store.forget("alice") == 0
    assert not store.has_user("alice") and store.users() == ["bob"]
    assert store.search("alice", SITUATIONS[0]) == [] and store.export("alice")["notes"] == []
    assert len(store.search("bob", SITUATIONS[0])) == len(keep)
    assert not np.isin(alice_ids, store._index.ids()).any()
    on_disk = VectorIndex.load(store.index_path, 256).ids()
    assert not np.isin(alice_ids, on_disk).any()
    assert sorted(on_disk.tolist()) == [n.id for n in keep]
    stats = store.stats()
    assert (stats["users"], stats["active_notes"], stats["superseded_notes"], stats["index_vectors"]) == (1, 5, 0, 5)
    leftovers = store._conn.execute("SELECT COUNT(*) FROM notes WHERE user_id = 'alice'").fetchone()[0]
    assert leftovers == 0


def test_forget_leaves_no_bytes_of_the_user_on_disk(store, db):
    for i in range(30):
        store.add("alice", f"ALICESECRET situation {i}", "object", "ALICESECRET value", "ALICESECRET", "feedback")
        add(store, "bob", f"bob situation {i}", "tea")
    store.search("alice", "ALICESECRET situation 1")
    store.forget("alice")
    files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    assert files and all(b"ALICESECRET" not in p.read_bytes() for p in files)
    assert any(b"bob situation" in p.read_bytes() for p in files)


def _fill(db, users=("alice", "bob")) -> dict:
    with MemoryStore(db, HashingEmbedder()) as store:
        for user in users:
            for situation in SITUATIONS:
                add(store, user, situation, f"{user}-{situation[:5]}")
        return {user: [(n.id, round(s, 5)) for n, s in store.search(user, SITUATIONS[1])] for user in users}


def _results(db, users=("alice", "bob")) -> dict:
    with MemoryStore(db, HashingEmbedder()) as store:
        return {user: [(n.id, round(s, 5)) for n, s in store.search(user, SITUATIONS[1])] for user in users}


def test_reopen_gives_the_same_results(db):
    before = _fill(db)
    assert db.with_name(db.name + ".faiss").exists()
    assert _results(db) == before


def test_missing_index_file_is_rebuilt_with_a_warning(db, caplog):
    before = _fill(db)
    index_file = db.with_name(db.name + ".faiss")
    index_file.unlink()
    with caplog.at_level(logging.WARNING, logger="memory.store"):
        assert _results(db) == before
    assert "rebuilding" in caplog.text
    assert index_file.exists()


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty"])
def test_corrupt_index_file_is_rebuilt_with_a_warning(db, caplog, damage):
    before = _fill(db)
    index_file = db.with_name(db.name + ".faiss")
    data = index_file.read_bytes()
    damaged = {"garbage": b"\x00not a faiss index" * 50, "truncate": data[: len(data) // 2], "empty": b""}[damage]
    index_file.write_bytes(damaged)
    with caplog.at_level(logging.WARNING, logger="memory.store"):
        assert _results(db) == before
    assert "rebuilding" in caplog.text
    assert VectorIndex.load(index_file, 256).ids().size == 10


def test_flipped_vector_bytes_are_caught_by_the_spot_check(db, caplog):
    before = _fill(db)
    index_file = db.with_name(db.name + ".faiss")
    index = VectorIndex.load(index_file, 256)
    ids = index.ids()
    vectors = np.random.default_rng(0).normal(size=(ids.size, 256)).astype(np.float32)
    forged = VectorIndex(256)
    forged.add(ids, vectors)
    forged.save(index_file)
    with caplog.at_level(logging.WARNING, logger="memory.store"):
        assert _results(db) == before
    assert "disagrees" in caplog.text


def test_stale_index_catches_up_with_notes_written_without_it(db):
    _fill(db)
    with MemoryStore(db, HashingEmbedder()) as writer:
        first = writer.notes("alice")[0]
        late = add(writer, "alice", "A brand new situation about tea", "green tea")
        replacement = writer.supersede("alice", first.id, value="replaced")
    with MemoryStore(db, HashingEmbedder()) as reader:
        ids = [n.id for n, _ in reader.search("alice", "A brand new situation about tea", k=20)]
        assert ids[0] == late.id and replacement.id in ids and first.id not in ids
        active = sorted(n.id for user in ("alice", "bob") for n in reader.notes(user))
        assert sorted(reader._index.ids().tolist()) == active


def test_index_file_is_written_in_batches_not_per_add(db):
    with MemoryStore(db, HashingEmbedder(), flush_every=20) as store:
        index_file = store.index_path
        assert VectorIndex.load(index_file, 256).ids().size == 0, "a new store starts with an empty index file"
        for i in range(19):
            add(store, "alice", f"situation {i}")
        assert VectorIndex.load(index_file, 256).ids().size == 0
        add(store, "alice", "situation 19")
        assert VectorIndex.load(index_file, 256).ids().size == 20
        written = index_file.stat().st_mtime_ns
        for i in range(10):
            add(store, "alice", f"more {i}")
        assert index_file.stat().st_mtime_ns == written
    assert VectorIndex.load(index_file, 256).ids().size == 30


def test_wrong_dimension_is_a_clear_error(db):
    _fill(db)
    with pytest.raises(ValueError, match=r"128.*256"):
        MemoryStore(db, HashingEmbedder(dim=128))


def test_index_file_of_another_dimension_is_rebuilt(db, caplog):
    before = _fill(db)
    VectorIndex(384).save(db.with_name(db.name + ".faiss"))
    with caplog.at_level(logging.WARNING, logger="memory.store"):
        assert _results(db) == before
    assert "384-dim" in caplog.text and "256-dim" in caplog.text and "rebuilding" in caplog.text


def test_store_without_embedder_manages_but_cannot_embed(db):
    with pytest.raises(ValueError, match="needs an embedder"):
        MemoryStore(db)
    _fill(db)
    with MemoryStore(db) as store:
        assert store.users() == ["alice", "bob"]
        exported = store.export("alice")
        json.dumps(exported)
        assert len(exported["notes"]) == 5
        with pytest.raises(ValueError, match="without an embedder"):
            store.search("alice", "tea")
        assert store.forget("bob") == 5


def test_stats_and_close_twice(db):
    _fill(db)
    store = MemoryStore(db, HashingEmbedder())
    stats = store.stats()
    assert {k: stats[k] for k in ("users", "active_notes", "superseded_notes", "index_vectors", "dim")} == {
        "users": 2,
        "active_notes": 10,
        "superseded_notes": 0,
        "index_vectors": 10,
        "dim": 256,
    }
    assert stats["index_file_bytes"] > 0 and stats["db_bytes"] > 0
    store.close()
    store.close()


def test_search_vector_checks_the_shape(store):
    add(store, "alice")
    vector = store.embedder.embed([SITUATIONS[0]])[0]
    assert store.search_vector("alice", vector)[0][1] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="shape"):
        store.search_vector("alice", vector[:10])
