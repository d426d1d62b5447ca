"""Corpus layout parsers, on file names from each corpus's documentation."""

from pathlib import Path

import pytest

from voice_features.emotion.corpora import (
    parse_casia_path,
    parse_emodb_name,
    parse_ravdess_name,
    read_corpus,
)
from voice_features.errors import VoiceFeaturesError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("03a01Fa.wav", ("03", "happiness")),  # EMO-DB docs: speaker 03, text a01, Freude, version a
        ("03a01Nc.wav", ("03", "neutral")),
        ("08b02Wb.wav", ("08", "anger")),  # Ärger
        ("16b10Lb.wav", ("16", "boredom")),  # Langeweile
        ("11a05Ec.wav", ("11", "disgust")),  # Ekel
        ("13a07Ad.wav", ("13", "fear")),  # Angst
        ("09b03Ta.wav", ("09", "sadness")),  # Trauer
        ("03a01Xa.wav", None),  # no such emotion letter
        ("notes.wav", None),
    ],
)
def test_it_parses_emodb_names(name, expected):
    assert parse_emodb_name(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # RAVDESS README: 02-01-06-01-02-01-12.mp4 is video-only, speech, fearful, actor 12.
        ("03-01-06-01-02-01-12.wav", ("12", "fear")),
        ("03-01-01-01-01-01-01.wav", ("01", "neutral")),
        ("03-01-02-02-01-02-05.wav", ("05", "calm")),
        ("03-02-03-02-02-01-24.wav", ("24", "happiness")),  # song
        ("03-01-04-01-01-01-07.wav", ("07", "sadness")),
        ("03-01-05-02-02-02-16.wav", ("16", "anger")),
        ("03-01-07-01-01-01-11.wav", ("11", "disgust")),
        ("03-01-08-02-01-01-19.wav", ("19", "surprise")),
        ("02-01-06-01-02-01-12.wav", None),  # video-only modality
        ("03-01-09-01-01-01-01.wav", None),  # no emotion 09
    ],
)
def test_it_parses_ravdess_names(name, expected):
    assert parse_ravdess_name(name) == expected


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("liuchanhg/angry/201.wav", ("liuchanhg", "anger")),
        ("wangzhe/fear/215.wav", ("wangzhe", "fear")),
        ("zhaoquanyin/happy/230.wav", ("zhaoquanyin", "happiness")),
        ("ZhaoZuoxiang/neutral/240.wav", ("ZhaoZuoxiang", "neutral")),
        ("liuchanhg/sad/205.wav", ("liuchanhg", "sadness")),
        ("wangzhe/surprise/250.wav", ("wangzhe", "surprise")),
        ("wangzhe/bored/250.wav", None),
        ("angry/201.wav", None),
    ],
)
def test_it_parses_casia_paths(relative, expected):
    assert parse_casia_path(Path(relative)) == expected


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(
    ("layout", "files", "rows"),
    [
        ("emodb", ["wav/03a01Fa.wav", "wav/10b02Tc.wav", "lablaut/03a01Fa.lab"], {("03", "happiness"), ("10", "sadness")}),
        ("ravdess", ["Actor_01/03-01-05-01-01-01-01.wav", "Actor_02/03-01-01-01-01-01-02.wav"], {("01", "anger"), ("02", "neutral")}),
        ("casia", ["wangzhe/happy/201.wav", "liuchanhg/sad/202.wav"], {("wangzhe", "happiness"), ("liuchanhg", "sadness")}),
    ],
)
def test_it_reads_a_corpus_tree(tmp_path, layout, files, rows):
    for f in files:
        _touch(tmp_path / f)
    utterances = read_corpus(tmp_path, layout=layout)
    assert {(u.speaker, u.label) for u in utterances} == rows
    assert all(u.path.is_file() for u in utterances)


def test_it_reads_a_csv_table_with_relative_paths(tmp_path):
    _touch(tmp_path / "audio" / "x.wav")
    (tmp_path / "labels.csv").write_text("path,label,speaker\naudio/x.wav,sadness,p7\n")
    (utterance,) = read_corpus(tmp_path, layout="csv")
    assert (utterance.label, utterance.speaker) == ("sadness", "p7")
    assert utterance.path == (tmp_path / "audio" / "x.wav").resolve()


@pytest.mark.parametrize("layout", ["emodb", "iemocap"])
def test_it_refuses_an_empty_corpus_or_unknown_layout(tmp_path, layout):
    with pytest.raises(VoiceFeaturesError):
        read_corpus(tmp_path, layout=layout)
