import re

import pytest

from pahf_robot.bench.generate import CATALOG, check_persona
from pahf_robot.bench.personas import load_persona, load_personas
from pahf_robot.core.errors import InputError
from pahf_robot.core.paths import PERSONAS

GOOD = """\
name: zed
description: A test persona.
preferences:
  illness:
    cues: ["I've come down with something."]
    item: ice cream tub
    reason: Cold soothes my throat.
    place: drawer
    place_reason: Medicine goes in the drawer.
  before_sleep:
    cues: ["Off to bed now."]
    item: warm milk
    reason: Warm milk helps me sleep.
    place: top shelf
    place_reason: Bedside things go up top.
shift:
  illness:
    item: chicken soup
    reason: The doctor said so.
"""


def write(tmp_path, text, name="zed"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def personas():
    return load_personas(PERSONAS)


def test_bundled_personas_load_and_fit_the_catalog(personas):
    assert len(personas) >= 20
    for name, persona in personas.items():
        assert re.fullmatch(r"[a-z]+", name)
        assert len(persona.preferences) >= 7
        check_persona(persona, PERSONAS / f"{name}.yaml")


def test_contexts_come_from_a_shared_catalog_of_distinct_situations(personas):
    used = {c for p in personas.values() for c in p.preferences}
    assert 12 <= len(CATALOG) <= 14
    assert used <= set(CATALOG)
    assert len(used) >= 12


def test_shift_changes_the_documented_share(personas):
    for name, persona in personas.items():
        assert persona.shift_share >= 0.3, name
        header = (PERSONAS / f"{name}.yaml").read_text().splitlines()[1]
        changed, total = map(int, re.search(r"(\d+) of (\d+)", header).groups())
        assert (changed, total) == (len(persona.changed_contexts), len(persona.preferences)), name
        kept = set(persona.preferences) - set(persona.changed_contexts)
        assert all(persona.preferences[c] == persona.shifted[c] for c in kept)


def test_preferences_are_individual(personas):
    """Different people want different things in the same situation."""
    for context in CATALOG:
        items = [p.preferences[context].item for p in personas.values() if context in p.preferences]
        if len(items) >= 5:
            assert len(set(items)) >= 3, context


def test_preference_uses_shifted_table_from_phase_3(tmp_path):
    persona = load_persona(write(tmp_path, GOOD))
    assert persona.preference("illness", 1).item == "ice cream tub"
    assert persona.preference("illness", 2).item == "ice cream tub"
    assert persona.preference("illness", 3).item == "chicken soup"
    assert persona.preference("before_sleep", 4).item == "warm milk"
    assert persona.shift_share == 0.5
    assert persona.preference("illness", 3).cues == persona.preference("illness", 1).cues


@pytest.mark.parametrize(
    "broken, field",
    [
        (GOOD.replace("    item: warm milk\n", ""), "preferences.before_sleep.item"),
        (GOOD.replace("item: ice cream tub", "item: [1, 2]"), "preferences.illness.item"),
        (GOOD.replace("name: zed", "name: other"), "name"),
        (
            GOOD.replace("    item: chicken soup\n    reason: The doctor said so.\n", "    reason: Same.\n"),
            "shift.illness",
        ),
        (GOOD.replace("shift:\n  illness:", "shift:\n  hungry:"), "shift.hungry"),
    ],
)
def test_malformed_persona_is_a_one_line_error_naming_file_and_field(tmp_path, broken, field):
    with pytest.raises(InputError) as err:
        load_persona(write(tmp_path, broken))
    text = str(err.value)
    assert "\n" not in text
    assert "zed.yaml" in text
    assert f"field '{field}'" in text


def test_bad_yaml_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"zed\.yaml: invalid YAML"):
        load_persona(write(tmp_path, "name: zed\npreferences: [unclosed\n"))


def test_persona_outside_the_catalog_is_rejected_by_the_generator(tmp_path):
    path = write(tmp_path, GOOD.replace("item: ice cream tub", "item: caviar"))
    with pytest.raises(InputError, match="preferences.illness.item"):
        check_persona(load_persona(path), path)
