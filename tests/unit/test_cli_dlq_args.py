"""`calltrack dlq replay`: options that belong to one kind of replay are refused on the
other, before any queue is touched (a 2 and one line saying why)."""
from __future__ import annotations

from chalicelib import cli


def test_options_of_the_other_replay_are_refused(capsys) -> None:
    assert cli.main(["dlq", "replay", "--stream", "--limit", "3"]) == 2
    assert "--limit" in capsys.readouterr().err
    assert cli.main(["dlq", "replay", "--consumer", "ga4", "--drop-expired"]) == 2
    assert "--drop-expired goes with --stream" in capsys.readouterr().err
