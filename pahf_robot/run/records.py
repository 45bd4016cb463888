"""One episode as one typed record, and episodes.jsonl as their sequence (one sorted-key JSON object a line).

Metrics, `--resume` and `replay` read the same records the protocol writes, so the JSON keys are spelled
out here once; the file stays what it was (`pass` for the learning pass, `outcome` and targets nested).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from pahf_robot.core.types import Outcome, Target

log = logging.getLogger(__name__)

EPISODES_FILE = "episodes.jsonl"
MEMORY_LOG = "memory_written.jsonl"
"""One line per episode whose memory writes are done, written by whoever ran it before its record goes out:
an episode listed here but not in episodes.jsonl changed memory that the records do not account for."""

EpisodeKey = tuple[str, str, int, int, int]
"""(mode, user, phase, pass, scenario index): what makes an episode unique within a run."""


@dataclass(frozen=True)
class EpisodeRecord:
    """What happened in one episode, with the ground truth it is scored against.

    `seed` is the scene's (`protocol.scene_seed`), which with `target` replays the rollout. `question`,
    `answer` and `feedback` are None when nobody asked, answered or spoke; `human_usage` is only recorded
    for an LLM-backed person.
    """

    mode: str
    user: str
    phase: int
    pass_index: int
    index: int
    seed: int
    task: str
    context: str
    kind: str
    ground_truth: Target
    decision: str
    confidence: float
    rationale: str
    target: Target
    question: str | None
    answer: str | None
    outcome: Outcome
    feedback: str | None
    memory_ops: list[dict]
    preference_correct: bool
    execution_success: bool
    task_success: bool
    feedback_given: bool
    correction_given: bool
    reasoner_usage: dict
    human_usage: dict | None = None
    questions: int = 0
    follow_ups: list[dict] = field(default_factory=list)

    @property
    def key(self) -> EpisodeKey:
        return (self.mode, self.user, self.phase, self.pass_index, self.index)

    def as_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["pass"] = data.pop("pass_index")
        for name in ("ground_truth", "target", "outcome"):
            data[name] = asdict(data[name])
        if self.human_usage is None:
            del data["human_usage"]
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeRecord:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values.setdefault("human_usage", None)
        if "questions" not in data:  # written before follow-ups existed: at most one question
            values["questions"] = 1 if data.get("question") else 0
        values["pass_index"] = data["pass"]
        values["ground_truth"] = Target(**data["ground_truth"])
        values["target"] = Target(**data["target"])
        values["outcome"] = Outcome(**data["outcome"])
        return cls(**values)

    @classmethod
    def from_json(cls, line: str) -> EpisodeRecord:
        return cls.from_dict(json.loads(line))


def read_records(path: Path) -> list[EpisodeRecord]:
    """Records already written; a last line cut short by a kill is dropped, not fatal."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            records.append(EpisodeRecord.from_json(line))
        except json.JSONDecodeError:
            log.warning("%s: ignoring a truncated last record", path)
    return records


def cut_partial_line(path: Path) -> int:
    """Cut a last line left unfinished by a kill back to the last newline, so the next append starts a line
    of its own instead of merging into it; returns the bytes cut."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep == len(data):
        return 0
    with path.open("r+b") as sink:
        sink.truncate(keep)
    log.warning("%s: cut an unfinished last line (%d bytes) before appending", path, len(data) - keep)
    return len(data) - keep


def note_memory_written(run_dir: Path, key: EpisodeKey) -> None:
    """Log that episode `key` has written its memory (one short O_APPEND write: safe across processes)."""
    with (run_dir / MEMORY_LOG).open("a") as sink:
        sink.write(json.dumps(list(key)) + "\n")


def memory_written(run_dir: Path) -> set[EpisodeKey]:
    """Episodes whose memory writes were done, as logged by `note_memory_written` (a cut last line ignored)."""
    path = run_dir / MEMORY_LOG
    if not path.exists():
        return set()
    keys = set()
    for line in path.read_text().splitlines():
        try:
            mode, user, phase, pass_index, index = json.loads(line)
        except (ValueError, TypeError):
            continue
        keys.add((mode, user, phase, pass_index, index))
    return keys
