"""Every `navagent` subcommand answers --help, and no subcommand is a placeholder without a handler."""

import argparse

import pytest

from navagent.cli import build_parser, main


def _leaf_commands(parser: argparse.ArgumentParser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaf_commands(sub, (*prefix, name))
            return
    yield prefix, parser


LEAVES = list(_leaf_commands(build_parser()))


def test_there_are_commands():
    names = {" ".join(p) for p, _ in LEAVES}
    assert {
        "demo",
        "eval report",
        "eval vln",
        "eval actions",
        "bench eval",
        "data episodes",
        "data trajectories",
        "data sceneqa",
        "eval score",
        "eval vqa",
        "bench sim",
        "bench agent",
        "bench train",
        "bench features",
        "sim render",
        "train",
    } <= names


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=[" ".join(p) for p, _ in LEAVES])
def test_help_and_handler(path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    assert "usage: navagent" in capsys.readouterr().out
    parser = dict(LEAVES)[path]
    assert callable(parser.get_default("func"))


def test_top_level_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for group in ("data", "sim", "eval", "bench"):
        assert group in out
