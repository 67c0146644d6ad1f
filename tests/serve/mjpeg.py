"""A small MJPEG client for the tests and the benchmark: reads multipart JPEG parts off a socket."""
from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit


def open_stream(url: str, *, receive_buffer_bytes: int | None = None, timeout_s: float = 10.0):
    """A socket with `GET /stream.mjpg` sent and the response headers read; returns (socket, rest)."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer_bytes is not None:  # a small window, so that a client that stops reading stalls soon
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer_bytes)
    sock.settimeout(timeout_s)
    sock.connect((parts.hostname, parts.port))
    sock.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the stream before its headers")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status + b" ":
        raise ConnectionError(f"unexpected status {status!r}")
    if b"multipart/x-mixed-replace" not in head.lower():
        raise ConnectionError(f"not a multipart stream: {head!r}")
    return sock, rest


def read_parts(url: str, *, duration_s: float, on_part=None):
    """Read the stream for `duration_s` seconds after the first part.

    Returns a list of (arrival time_s, headers dict, JPEG bytes). `on_part(part)` is called per part
    (the benchmark uses it). A chunked response body is de-chunked on the way."""
    sock, buffer = open_stream(url)
    parts = []
    body = _Dechunk()
    body.feed(buffer)
    deadline = None
    try:
        while deadline is None or time.perf_counter() < deadline:
            for headers, jpeg in body.parts():
                now = time.perf_counter()
                if deadline is None:
                    deadline = now + duration_s
                if now <= deadline:
                    part = (now, headers, jpeg)
                    parts.append(part)
                    if on_part is not None:
                        on_part(part)
            chunk = sock.recv(262144)
            if not chunk:
                break
            body.feed(chunk)
    finally:
        sock.close()
    return parts


class _Dechunk:
    """HTTP/1.1 chunked transfer decoding, then multipart splitting by Content-Length."""

    def __init__(self):
        self._raw = b""
        self._body = bytearray()

    def feed(self, data: bytes) -> None:
        self._raw += data
        while True:
            line_end = self._raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self._raw[:line_end].split(b";")[0] or b"0", 16)
            if len(self._raw) < line_end + 2 + size + 2:
                return
            self._body += self._raw[line_end + 2: line_end + 2 + size]
            self._raw = self._raw[line_end + 2 + size + 2:]

    def parts(self):
        while True:
            head_end = self._body.find(b"\r\n\r\n")
            if head_end < 0:
                return
            lines = bytes(self._body[:head_end]).split(b"\r\n")
            headers = {}
            for line in lines[1:]:  # lines[0] is the boundary
                name, _, value = line.partition(b":")
                headers[name.strip().decode().lower()] = value.strip().decode()
            length = int(headers["content-length"])
            if len(self._body) < head_end + 4 + length + 2:
                return
            jpeg = bytes(self._body[head_end + 4: head_end + 4 + length])
            del self._body[: head_end + 4 + length + 2]
            yield headers, jpeg
