"""Registry loading, mixture syntax, repeat / subsample / weights, and errors for unknown or empty sources."""

from __future__ import annotations

from collections import Counter

import pytest

from navagent.train.mixtures import (
    MixtureError,
    MixtureTerm,
    build_mixture,
    load_registry,
    parse_mixture,
)


def test_parse_mixture_reads_names_and_repeat_factors():
    assert parse_mixture("r2r+easyvqa*2") == [MixtureTerm("r2r", 1.0), MixtureTerm("easyvqa", 2.0)]
    assert parse_mixture(" nav*0.5 + chat*1.5 ") == [MixtureTerm("nav", 0.5), MixtureTerm("chat", 1.5)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "non-empty"),
        ("a+a", "more than once"),
        ("a*0", "must be > 0"),
        ("a*-1", "cannot parse"),
        ("a++b", "cannot parse term ''"),
    ],
)
def test_malformed_mixtures_are_rejected(spec, message):
    with pytest.raises(MixtureError, match=message):
        parse_mixture(spec)


def test_repeats_and_fractions_resolve_to_counted_seeded_samples(data_root, registry_path):
    registry = load_registry(registry_path)
    mixture = build_mixture("nav+easyvqa*2.5+chat", registry, data_root, seed=3)
    rows = {row.name: row for row in mixture.rows}
    assert (rows["nav"].records, rows["nav"].samples) == (26, 26)
    assert (rows["easyvqa"].records, rows["easyvqa"].samples) == (24, 60)
    assert rows["chat"].samples == 3
    assert len(mixture) == 26 + 60 + 3
    copies = Counter(
        mixture[i].sample_id for i in range(len(mixture)) if mixture[i].sample_id.startswith("easy")
    )
    assert sorted(Counter(copies.values()).items()) == [(2, 12), (3, 12)]  # every record twice, half thrice
    again = build_mixture("nav+easyvqa*2.5+chat", registry, data_root, seed=3)
    other = build_mixture("nav+easyvqa*2.5+chat", registry, data_root, seed=4)
    ids = [s.sample_id for s in mixture]
    assert ids == [s.sample_id for s in again]
    assert ids != [s.sample_id for s in other]
    summary = mixture.summary()
    assert "easyvqa" in summary and "60" in summary and "total" in summary


def test_weighted_mixture_draws_samples_in_proportion(data_root, registry_path):
    registry = load_registry(registry_path)
    mixture = build_mixture({"nav": 3, "easyvqa": 1}, registry, data_root, seed=0, num_samples=40)
    assert {row.name: row.samples for row in mixture.rows} == {"nav": 30, "easyvqa": 10}
    with pytest.raises(MixtureError, match="num_samples"):
        build_mixture({"nav": 1}, registry, data_root)
    with pytest.raises(MixtureError, match="positive"):
        build_mixture({"nav": 0}, registry, data_root, num_samples=5)


def test_unknown_names_and_empty_draws_are_errors(data_root, registry_path):
    registry = load_registry(registry_path)
    with pytest.raises(MixtureError, match=r"unknown dataset\(s\) \['r2r', 'scanqa'\]"):
        build_mixture("nav+r2r+scanqa", registry, data_root)
    with pytest.raises(MixtureError, match=r"chat\*0.01 draws 0 of its 3 records"):
        build_mixture("nav+chat*0.01", registry, data_root)


def test_registry_errors_name_the_entry(tmp_path):
    path = tmp_path / "registry.yaml"
    path.write_text("datasets:\n  r2r: {type: navigation, annotation: a.json}\n")
    with pytest.raises(MixtureError, match=r"dataset 'r2r' has unknown field\(s\) \['annotation'\]"):
        load_registry(path)
    path.write_text("datasets:\n  r2r: {type: trajectories, annotations: a.json}\n")
    with pytest.raises(MixtureError, match="dataset 'r2r' has type 'trajectories'"):
        load_registry(path)
    path.write_text("datasets:\n  r2r: {type: navigation}\n")
    with pytest.raises(MixtureError, match="needs an 'annotations' file"):
        load_registry(path)
    path.write_text("datasets:\n  r2r: {type: navigation, annotations: a.json, num_frames: eight}\n")
    with pytest.raises(MixtureError, match="num_frames must be an int"):
        load_registry(path)
    path.write_text("datasets:\n  r2r: {type: navigation, annotations: a.json, view_questions: -1}\n")
    with pytest.raises(MixtureError, match="dataset 'r2r': view_questions must be an int >= 0"):
        load_registry(path)
    path.write_text("datasets:\n  r2r: {type: navigation, annotations: a.json, recent_frames: 8}\n")
    with pytest.raises(
        MixtureError, match=r"dataset 'r2r': recent_frames must be an int in \[0, num_frames\)"
    ):
        load_registry(path)
    path.write_text("datasets:\n  qa: {type: vqa, annotations: a.json, recent_frames: 2}\n")
    with pytest.raises(MixtureError, match="dataset 'qa': recent_frames is for navigation data only"):
        load_registry(path)
    bad_entries = (
        "{type: navigation, annotations: a.json, previous_action: 1}",
        "{type: vqa, annotations: a.json, previous_action: true}",
    )
    for bad in bad_entries:
        path.write_text(f"datasets:\n  d: {bad}\n")
        with pytest.raises(
            MixtureError, match="dataset 'd': previous_action must be true/false, for navigation"
        ):
            load_registry(path)
    path.write_text("datasets:\n  qa: {type: vqa, annotations: a.json, view_questions: 2}\n")
    with pytest.raises(MixtureError, match="dataset 'qa': view_questions is for navigation data only"):
        load_registry(path)


def test_the_shipped_registry_loads(tiny_spec_path):
    registry = load_registry(tiny_spec_path.parents[1] / "data" / "registry.yaml")
    assert {"easyvqa", "r2r", "rxr", "scanqa", "sharegpt4v_sft"} <= set(registry)
