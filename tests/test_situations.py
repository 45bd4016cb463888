"""Situations are matched by what sets them apart, not by the request every task shares."""

import numpy as np

from memory.embedders import HashingEmbedder
from pahf_robot.agent.situations import SituationMatcher, centred, sentences_of, situation_key, split_key

REMEMBERED = [
    "We won the match tonight! Could you please bring me something to drink?",
    "The dishes are piling up after dinner. Could you please bring me something to drink?",
    "My fingers are numb and snow is falling outside. Put the gloves away.",
    "I have a deadline at dawn and the report is unfinished. Put the gloves away.",
    "I just got back from a long run. Could you please bring me something to drink?",
    "The guests have all gone home. Put the gloves away.",
]
"""A person's memory holds enough tasks that share a request for that request to show as typical: a sentence's
typicality is its mean cosine to its `TYPICAL_NEIGHBOURS` closest sentences of other tasks."""
QUERY = "Snow keeps falling and my fingers are numb. Could you please bring me something to drink?"


def test_the_same_situation_asked_another_way_beats_another_situation_asked_the_same_way():
    embedder = HashingEmbedder()
    whole = embedder.embed(REMEMBERED) @ embedder.embed([QUERY])[0]
    assert int(np.argmax(whole)) != 2  # whole-task cosine is pulled toward the shared request
    weighted = SituationMatcher(embedder).similarities(QUERY, REMEMBERED)
    assert int(np.argmax(weighted)) == 2


def test_a_remembered_task_worded_exactly_alike_scores_one():
    scores = SituationMatcher(HashingEmbedder()).similarities(REMEMBERED[1], REMEMBERED)
    assert np.isclose(scores[1], 1.0) and scores.shape == (len(REMEMBERED),)


def test_sentences_end_at_sentence_punctuation_only():
    assert sentences_of("It's hot, really hot! Bring me something? Thanks.") == [
        "It's hot, really hot!",
        "Bring me something?",
        "Thanks.",
    ]
    assert SituationMatcher(HashingEmbedder()).similarities(QUERY, []).shape == (0,)


def test_what_was_on_the_table_tells_situations_apart_when_the_words_do_not():
    said = "Could you please bring me something?"
    morning = situation_key(said, ["black coffee", "herbal tea", "orange juice"])
    remembered = [
        situation_key(said, ["red wine", "cheese board", "birthday cake"]),
        situation_key(said, ["espresso", "green tea", "orange juice"]),
    ]
    matcher = SituationMatcher(HashingEmbedder())
    scores = matcher.similarities(morning, remembered)
    assert scores[1] > scores[0]
    assert np.allclose(SituationMatcher(HashingEmbedder(), scene_weight=0.0).similarities(morning, remembered), 1.0)


def test_a_key_without_a_scene_is_matched_by_its_task_alone():
    key = situation_key(QUERY, ["gloves", "scarf"])
    assert split_key(key) == (QUERY, ("gloves", "scarf"))
    assert split_key(QUERY) == (QUERY, ()) and situation_key(QUERY, []) == QUERY
    matcher = SituationMatcher(HashingEmbedder())
    assert np.allclose(matcher.similarities(key, REMEMBERED), matcher.similarities(QUERY, REMEMBERED))


def test_what_a_persons_tasks_all_share_within_one_sentence_is_not_likeness():
    # one sentence each, so sentence weighting cannot set the shared request apart: only centring can
    request = "could you please bring me something from the kitchen right now"
    remembered = [
        f"{request} since the sun is scorching",
        f"{request} since the snow is falling",
        f"{request} since the exam went well",
        f"{request} since dinner is over",
        f"{request} since the bus was late",
        "my fingers are numb",
    ]
    query = f"{request} since my fingers are numb"
    embedder = HashingEmbedder()
    from_origin = embedder.embed(remembered) @ embedder.embed([query])[0]
    assert int(np.argmax(from_origin)) != 5  # from the origin, the shared request decides
    assert int(np.argmax(SituationMatcher(embedder).similarities(query, remembered))) == 5


def test_one_remembered_task_is_not_centred_into_its_own_opposite():
    vectors = HashingEmbedder().embed(["snow is falling", "snow is falling outside"])
    assert float(centred(vectors[:1], vectors[1:])[0] @ centred(vectors[1:], vectors[1:])[0]) > 0.5


def test_a_remembered_situation_said_again_whole_beats_one_said_in_part_however_much_else_is_said():
    remembered = [
        "The meteor shower is over. Put the tripod away.",
        "The cake is baked and cooling. Put the tray away.",
        "The match was cancelled. Put the boots away.",
    ]
    query = "The meteor shower is over. The cake is baked. The bread is baked. The pie is baked. Put the mount away."
    scores = SituationMatcher(HashingEmbedder(), scene_weight=0.0).similarities(query, remembered)
    assert int(np.argmax(scores)) == 0
