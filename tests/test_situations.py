"""Situations are matched by what sets them apart, not by the request every task shares."""

import numpy as np

from memory.embedders import HashingEmbedder
from pahf_robot.agent.situations import SituationMatcher, sentences_of

REMEMBERED = [
    "We won the match tonight! Could you please bring me something to drink?",
    "The dishes are piling up after dinner. Could you please bring me something to drink?",
    "My fingers are numb and snow is falling outside. Put the gloves away.",
    "I have a deadline at dawn and the report is unfinished. Put the gloves away.",
]
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
