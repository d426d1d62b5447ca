"""The Spanish read passage's syllable count, checked against an independent syllabifier.

``clinic.protocols.PASSAGES["viento_norte"].syllables`` was counted by hand; ``pylabeador`` (a rule-based Spanish
syllabifier from PyPI, a development dependency) recounts it here, after being checked itself against a
hand-counted list that covers diphthongs, hiatus, triphthongs, "y", "h", "ll", "rr", "ch", "qu" and "gü".
"""

import pytest

from clinic.protocols import PASSAGES, Task, known_syllables, passages_for
from tests.support.voices_es import spanish_syllables, word_syllables

HAND_COUNTED = {
    "viento": 2, "norte": 2, "porfiaban": 3, "cuál": 1, "ellos": 2, "acertó": 3, "viajero": 3, "envuelto": 3,
    "convinieron": 4, "lograra": 3, "obligar": 3, "quitarse": 3, "sería": 3, "considerado": 5, "poderoso": 4,
    "furia": 2, "arrebujaba": 5, "abandonó": 4, "empresa": 3, "brilló": 2, "inmediatamente": 6, "despojó": 3,
    "reconocer": 4, "superioridad": 5, "y": 1, "país": 2, "reía": 3, "ahora": 3, "buey": 1, "averiguáis": 4,
    "pingüino": 3, "leíste": 3, "cohete": 3, "poeta": 3, "aéreo": 4, "ciudad": 2, "huevo": 2, "muchacho": 3,
    "guerra": 2, "aire": 2, "oír": 2, "transporte": 3, "instrucción": 3, "cigüeña": 3, "maíz": 2,
}


@pytest.mark.parametrize("word, count", sorted(HAND_COUNTED.items()))
def test_the_syllabifier_agrees_with_the_hand_count(word, count):
    assert word_syllables(word) == count


def test_the_spanish_passage_states_the_syllable_count_the_syllabifier_gives():
    passage = PASSAGES["viento_norte"]
    assert passage.language == "es"
    assert passage.syllables == spanish_syllables(passage.text) == 183


def test_a_spanish_read_passage_takes_its_speech_rate_from_its_syllable_count():
    assert known_syllables(task=Task.READ_PASSAGE, detail="viento_norte") == 183


def test_each_language_reads_its_own_passages():
    assert [p.key for p in passages_for("es-MX")] == ["viento_norte"]
    assert [p.key for p in passages_for("en")] == ["north_wind", "rainbow"]
    assert [p.key for p in passages_for("de")] == ["north_wind", "rainbow"]  # none in German: the English ones
