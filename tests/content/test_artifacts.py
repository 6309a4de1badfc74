"""The content-addressed artifact store: atomic writes (a writer killed mid-file leaves no
final file), one copy per content, hash-checked reads; and the fsspec path."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from content.artifacts import ArtifactMissingError, ArtifactStore, key_for
from tests.helpers import ROOT

WRITER = """
import os, sys
sys.path.insert(0, {root!r})
from content.artifacts import ArtifactStore
data = os.urandom(96 << 20)
open({ready!r}, "w").write(__import__("hashlib").sha256(data).hexdigest())
ArtifactStore({store!r}).put(data)
"""


def test_put_read_stream_and_dedupe(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "a")
    data = b"%PDF-1.7 hello" * 1000
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest() and store.exists(sha)
    path = tmp_path / "a" / key_for(sha)
    assert path.read_bytes() == data and store.read(sha) == data
    assert b"".join(store.stream(sha, chunk=1000)) == data
    mtime = path.stat().st_mtime_ns
    assert store.put(data) == sha and path.stat().st_mtime_ns == mtime  # stored once
    assert not list(path.parent.glob(".tmp-*"))
    path.write_bytes(b"tampered")
    with pytest.raises(ArtifactMissingError, match="corrupt"):
        store.read(sha)
    with pytest.raises(ArtifactMissingError, match="missing"):
        list(store.stream("0" * 64))
    with pytest.raises(ValueError):
        store.exists("../../etc/passwd")


def test_a_writer_killed_mid_file_leaves_no_artifact(tmp_path: Path) -> None:
    root, ready = tmp_path / "a", tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(
        root=str(ROOT), ready=str(ready), store=str(root))], start_new_session=True)
    deadline = time.monotonic() + 60
    tmp: list[Path] = []
    while time.monotonic() < deadline and not tmp and proc.poll() is None:
        tmp = list(root.glob("*/*/.tmp-*")) if root.exists() else []
        time.sleep(0.001)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert tmp, "the writer never started its temporary file"
    sha = ready.read_text()
    store = ArtifactStore(root)
    assert not store.exists(sha)  # no half-written file under the final name
    assert not list(root.glob("*/*/[0-9a-f]*"))


def test_an_fsspec_url_is_used_when_set(tmp_path: Path) -> None:
    store = ArtifactStore(url=f"file://{tmp_path / 'remote'}")
    sha = store.put(b"<svg/>")
    assert (tmp_path / "remote" / key_for(sha)).read_bytes() == b"<svg/>"
    assert store.read(sha) == b"<svg/>" and store.exists(sha)
