"""Reading what people say: which scene option their words point to, and whether they say yes or no.

Everything here is general English, never our benchmark's vocabulary: a stop-word list, a handful of
negation and approval words, a plural-stripping stemmer, and sentence embeddings for what words mean.
People name options in part ("the tea"), describe them ("something hot", "the one without caffeine") or
just refuse ("No, not that."), so a reply is read clause by clause: words before a negation are wanted,
words after it are not, and a clause that only refuses points at whatever the robot chose.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from memory.embedders import Embedder
from memory.notes import normalise
from pahf_robot.agent.lexicon import Lexicon

STOP_WORDS = frozenset(
    """
    a about actually after again all also am an and any anything are around as at be because been before
    being bit both but by can could did do does doing done each either else ever for from get give go goes
    going got had has have having he her here hers him his how i i'd i'll i'm i've if in instead into is it
    it's its just kind kindly like ll maybe me might mine more most much must my myself next now of off on
    once one ones only onto or other our ours out over perhaps place please prefer put quite rather really
    right s same she should so some something somewhere sort still such than that that's the their them then
    there these they thing things this those though through time to too toward us very wanted want wants was
    we were what when where which while who whom why will with would yeah you you'd your yours
    """.split()
)
"""Function words and the verbs of asking and wanting: they say how a reply is phrased, not what it means."""

NEGATIONS = frozenset({"no", "not", "nope", "never", "nothing", "none", "neither", "nor", "without", "wrong", "too"})
"""Words after which a clause says what is NOT wanted ("not the coffee", "too sweet", "without ice")."""

APPROVALS = frozenset(
    {
        "yes",
        "yep",
        "thanks",
        "thank",
        "perfect",
        "great",
        "exactly",
        "good",
        "lovely",
        "nice",
        "ideal",
        "excellent",
        "wonderful",
        "works",
        "spot",
        "brilliant",
        "correct",
        "cheers",
    }
)
"""Words that approve of what the robot did, when no negation is said beside them."""

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CLAUSES = re.compile(r"[.!?;:]+\s*|,\s*|\s+-+\s+|\s+but\s+", re.IGNORECASE)


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def stem(word: str) -> str:
    """Plural and possessive endings off, so "cookies" meets "cookie" and "apples" meets "apple"."""
    word = word.removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _negates(word: str) -> bool:
    return word in NEGATIONS or word.endswith("n't")


def content_words(text: str) -> list[str]:
    """The stems that carry meaning: no stop words, no negations."""
    return [stem(w) for w in words_of(text) if w not in STOP_WORDS and not _negates(w)]


def mentioned_options(text: str, options: Sequence[str]) -> list[str]:
    """Options named verbatim in `text`, longest first, skipping names contained in a longer match."""
    haystack = f" {normalise(text)} "
    found = [o for o in options if normalise(o) and f" {normalise(o)} " in haystack]
    found.sort(key=lambda o: -len(normalise(o)))
    kept: list[str] = []
    for option in found:
        if not any(normalise(option) in normalise(longer) for longer in kept):
            kept.append(option)
    return kept


@dataclass(frozen=True)
class Clause:
    """One clause of a reply: the content words it wants, those it refuses, and whether it refuses at all."""

    wanted: tuple[str, ...]
    refused: tuple[str, ...]
    negative: bool
    approving: bool


def clauses_of(text: str) -> list[Clause]:
    clauses = []
    for part in _CLAUSES.split(text):
        words = words_of(part)
        if not words:
            continue
        cut = next((i for i, w in enumerate(words) if _negates(w)), len(words))
        keep = lambda ws: tuple(stem(w) for w in ws if w not in STOP_WORDS and not _negates(w))  # noqa: E731
        clauses.append(
            Clause(
                wanted=keep(words[:cut]),
                refused=keep(words[cut:]),
                negative=cut < len(words),
                approving=any(w in APPROVALS for w in words),
            )
        )
    return clauses


@dataclass(frozen=True)
class Reference:
    """Which options some words point to: one is clear, several are a tie worth asking about, none is nothing."""

    options: tuple[str, ...]


LEXICON_WEIGHT = 0.8
"""WordNet's "same thing" counts as a cosine of 0.8 and "a kind of" as 0.64 (chosen on the paraphrase dev set)."""


class Grounder:
    """Maps remembered names and people's words onto the options present in the scene.

    `floor`: below this cosine a description points to nothing; `margin`: a description points to one option
    only when it beats the next by this much, else it is a tie. Both are fitted on phase-1 data.
    """

    def __init__(self, embedder: Embedder, floor: float = 0.25, margin: float = 0.06):
        self.embedder = embedder
        self.lexicon = Lexicon.load()
        self.floor = floor
        self.margin = margin

    # -- names against names ----------------------------------------------------------------------------

    def similarities(self, name: str, options: Sequence[str]) -> np.ndarray:
        """How well `name` stands for each option: 1 for the same name, 0 for opposites ("top" / "bottom"),
        else the cosine, raised to WordNet's relatedness (scaled by LEXICON_WEIGHT) where WordNet relates them.

        WordNet only ever raises a score: its silence, or a head noun read in the wrong sense ("flip-flops"
        as a failure), is no evidence that two names differ."""
        if not options:
            return np.zeros(0, dtype=np.float32)
        vectors = self.embedder.embed([name, *options])
        sims = np.clip(vectors[1:] @ vectors[0], -1.0, 1.0)
        key = normalise(name)
        for i, option in enumerate(options):
            if normalise(option) == key:
                sims[i] = 1.0
            elif self.lexicon.opposed(name, option):
                sims[i] = 0.0
            elif (related := self.lexicon.relatedness(name, option)) is not None:
                sims[i] = max(sims[i], LEXICON_WEIGHT * related)
        return sims

    # -- words against names ----------------------------------------------------------------------------

    def lexical(self, words: Sequence[str], options: Sequence[str]) -> np.ndarray:
        """Shared stems, each weighted by how few options carry it: "shelf" beside three shelves says little."""
        option_words = [set(content_words(o)) for o in options]
        said = set(words)
        scores = np.zeros(len(options), dtype=np.float32)
        for i, own in enumerate(option_words):
            for word in own & said:
                carriers = sum(word in other for other in option_words)
                scores[i] += math.log(1.0 + len(options) / carriers)
        return scores

    def meaning(self, wanted: Sequence[str], refused: Sequence[str], options: Sequence[str]) -> np.ndarray:
        """How well each option fits a description: close to what is wanted, far from what is refused."""
        texts = [" ".join(wanted), " ".join(refused)]
        vectors = self.embedder.embed([t for t in texts if t] + list(options))
        n = sum(1 for t in texts if t)
        option_vectors = vectors[n:]
        score = np.zeros(len(options), dtype=np.float32)
        row = 0
        if wanted:
            score += option_vectors @ vectors[row]
            row += 1
        if refused:
            score -= option_vectors @ vectors[row]
        return score

    def refer(self, clauses: Sequence[Clause], options: Sequence[str]) -> Reference:
        """The options the clauses point to: a name (even part of one) first, else the closest description."""
        named = self.named(clauses, options)
        return named if named.options else self.described(clauses, options)

    def named(self, clauses: Sequence[Clause], options: Sequence[str]) -> Reference:
        """Options named, in full or in part, by the first clause that names any; ties are kept."""
        open_options = self._not_refused(clauses, options)
        for clause in clauses:
            scores = self.lexical(clause.wanted, open_options)
            if scores.max(initial=0.0) > 0:
                return Reference(tuple(o for o, s in zip(open_options, scores, strict=False) if s == scores.max()))
        return Reference(())

    def described(self, clauses: Sequence[Clause], options: Sequence[str]) -> Reference:
        """Options a description fits within `margin` of the best; a description made only of refused words
        ("something without caffeine") points to the options furthest from them."""
        open_options = self._not_refused(clauses, options)
        if not open_options:
            return Reference(())
        refused = tuple(word for clause in clauses for word in clause.refused)
        descriptions = [clause.wanted for clause in clauses if clause.wanted] or ([()] if refused else [])
        best, best_gap = Reference(()), -math.inf
        for wanted in descriptions:
            scores = self.meaning(wanted, refused, open_options)
            top = float(scores.max())
            if wanted and top < self.floor:
                continue
            gap = top - float(np.sort(scores)[-2]) if len(open_options) > 1 else math.inf
            if gap > best_gap:
                tied = tuple(o for o, s in zip(open_options, scores, strict=False) if top - s < self.margin)
                best, best_gap = Reference(tied), gap
        return best

    def _not_refused(self, clauses: Sequence[Clause], options: Sequence[str]) -> list[str]:
        """Options left once those named among refused words are out ("not the coffee")."""
        refused = tuple(word for clause in clauses for word in clause.refused)
        if not refused:
            return list(options)
        out = self.lexical(refused, options) > 0
        return [o for o, gone in zip(options, out, strict=False) if not gone] or list(options)
