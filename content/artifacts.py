"""The artifact store: build outputs and logos, addressed by the SHA-256 of their bytes.

Local by default (``<data_dir>/artifacts/ab/cd/abcd…``), written atomically: a temporary
file in the target directory, fsync'd, renamed over the final name, directory fsync'd. A
reader never sees a half-written file and a crash leaves at most a ``.tmp-*`` orphan.
With ``LODESTONE_ARTIFACTS_URL`` (an fsspec URL such as ``s3://bucket/prefix``) the same
keys go to that store (an object PUT is atomic there). Equal bytes are stored once; rows
in ``artifacts`` (content/builds.py) say which organization may read which hash.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kernel.durable import fsync_dir
from kernel.settings import Settings

_SHA = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 256 * 1024


class ArtifactMissingError(FileNotFoundError):
    """A row names bytes the store does not have (deleted by hand, or another store)."""


def key_for(sha256: str) -> str:
    if not _SHA.match(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class ArtifactStore:
    """Put, read and stream bytes by hash, on the local disk or through fsspec."""

    def __init__(self, root: Path | str | None = None, url: str = "") -> None:
        self.url = url.rstrip("/")
        self.root = Path(root) if root is not None else None
        self._fs: Any = None
        if self.url:
            import fsspec

            self._fs, self._base = fsspec.core.url_to_fs(self.url)
        elif root is None:
            raise ValueError("an artifact store needs a local root or a URL")

    @classmethod
    def from_settings(cls, settings: Settings) -> ArtifactStore:
        return cls(settings.data_path / "artifacts", settings.artifacts_url)

    def _path(self, sha256: str) -> Path:
        assert self.root is not None
        return self.root / key_for(sha256)

    def _remote(self, sha256: str) -> str:
        return f"{self._base}/{key_for(sha256)}"

    def put(self, data: bytes) -> str:
        """Store ``data`` (once per distinct content); returns its SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        if self._fs is not None:
            path = self._remote(sha)
            if not self._fs.exists(path):
                self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)  # no-op on S3
                self._fs.pipe_file(path, data)
            return sha
        final = self._path(sha)
        if final.exists() and final.stat().st_size == len(data):
            return sha
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(final.parent)
        return sha

    def exists(self, sha256: str) -> bool:
        if self._fs is not None:
            return bool(self._fs.exists(self._remote(sha256)))
        return self._path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        """All bytes of ``sha256``, checked against the hash."""
        data = b"".join(self.stream(sha256))
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArtifactMissingError(f"artifact {sha256} is corrupt in the store")
        return data

    def stream(self, sha256: str, chunk: int = CHUNK) -> Iterator[bytes]:
        """The bytes of ``sha256`` in chunks (a download response iterates this)."""
        try:
            f = (self._fs.open(self._remote(sha256), "rb") if self._fs is not None
                 else open(self._path(sha256), "rb"))  # noqa: SIM115 - closed below
        except FileNotFoundError:
            raise ArtifactMissingError(f"artifact {sha256} is missing from the store") from None
        with f:
            while block := f.read(chunk):
                yield block

    def delete(self, sha256: str) -> bool:
        """Remove the bytes of ``sha256`` (erasure of a personalised file); False if absent."""
        if self._fs is not None:
            path = self._remote(sha256)
            if not self._fs.exists(path):
                return False
            self._fs.rm(path)
            return True
        local = self._path(sha256)
        if not local.exists():
            return False
        local.unlink()
        fsync_dir(local.parent)
        return True
