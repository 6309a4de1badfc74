"""A raw HTTP/1.1 client that streams a chunked body and notices an early answer."""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass
from pathlib import Path

MiB = 1024 * 1024


@dataclass
class ChunkedResult:
    status: int
    body: bytes
    sent: int  # bytes of body handed to the kernel before the answer came
    seconds: float


def send_chunked(base: str, path: str, total: int, headers: dict[str, str] | None = None,
                 chunk: int = 256 * 1024, timeout: float = 60.0) -> ChunkedResult:
    """POST ``total`` bytes of ``[`` to ``path`` as a chunked body; stop when answered."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Transfer-Encoding: chunked",
            "Content-Type: application/json"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    t0 = time.monotonic()
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    frame = f"{chunk:x}\r\n".encode() + b"[" * chunk + b"\r\n"
    sent = 0
    try:
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(frame)
            sent += chunk
        else:
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = b""
    sock.settimeout(timeout)
    try:
        while b"\r\n\r\n" not in data or len(data) < _expected(data):
            part = sock.recv(65536)
            if not part:
                break
            data += part
    except (ConnectionResetError, TimeoutError):
        pass
    finally:
        sock.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return ChunkedResult(status, data.partition(b"\r\n\r\n")[2], sent, time.monotonic() - t0)


def _expected(data: bytes) -> int:
    head, _, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return len(data) + 1


def rss(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS since the last :func:`reset_peak`) of ``pid`` in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")
