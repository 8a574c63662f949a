"""The snippet's build: what it emits, and the size budget that fails it."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path

from tests.browser.conftest import SNIPPET


def test_build_emits_hashed_files_within_budget(snippet_dist: Path) -> None:
    manifest = json.loads((snippet_dist / "manifest.json").read_text())
    core = (snippet_dist / "dni.js").read_bytes()
    assert (snippet_dist / manifest["dni.js"]).read_bytes() == core
    assert manifest["dni.js"] != "dni.js" and manifest["callback.js"] != "callback.js"
    assert manifest["callback.js"].encode() in core  # the core loads the hashed widget lazily
    assert len(gzip.compress(core, 9)) <= 3200          # the build's budget (snippet/build.mjs)
    assert core.startswith(b'(function(') and b'"use strict"' in core[:40]


def test_build_fails_past_the_budget(snippet_dist: Path) -> None:
    before = (snippet_dist / "dni.js").stat().st_mtime_ns
    env = dict(os.environ, SNIPPET_BUDGET="1000")
    run = subprocess.run(["npm", "run", "build", "--silent"], cwd=SNIPPET, env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "over its budget of 1000 B: nothing written" in run.stderr
    assert "B gzip" in run.stdout  # sizes are printed either way
    assert (snippet_dist / "dni.js").stat().st_mtime_ns == before  # the last good build stays
