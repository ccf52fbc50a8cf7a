"""HTTP client for the Diff-V2M server (docs/api.md), stdlib only and free of bpy.

Runs in the worker thread. Every failure becomes a ``ServerError`` whose message
is one sentence an editor can act on; connection problems are ``ServerUnreachable``.
Uploads are streamed from disk (multipart built on the fly), so a 2 GB source
never sits in Blender's memory.
"""

from __future__ import annotations

import ipaddress
import json
import mimetypes
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

DEFAULT_URL = "http://127.0.0.1:8767"
_CHUNK = 1 << 20


class ServerError(Exception):
    """The server answered with an error, or its answer could not be used."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ServerUnreachable(ServerError):
    """Nothing answered at the configured URL."""


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this computer (files may then be named by path, not uploaded)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class FilePart:
    """One uploaded ``files`` part: a media file streamed from disk."""

    path: str

    @property
    def size(self) -> int:
        return os.path.getsize(self.path)


class Multipart:
    """A ``multipart/form-data`` body whose length is known before it is read."""

    def __init__(self, fields: dict[str, str], files: list[tuple[str, FilePart]]) -> None:
        self.boundary = "diffv2m-" + uuid.uuid4().hex
        self.fields = fields
        self.files = files

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _field_head(self, name: str) -> bytes:
        return f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()

    def _file_head(self, name: str, part: FilePart) -> bytes:
        filename = os.path.basename(part.path).replace('"', "_")
        mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {mime}\r\n\r\n"
        ).encode()

    def _tail(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        total = sum(len(self._field_head(k)) + len(v.encode()) + 2 for k, v in self.fields.items())
        total += sum(len(self._file_head(k, p)) + p.size + 2 for k, p in self.files)
        return total + len(self._tail())

    def __iter__(self) -> Iterator[bytes]:
        for name, value in self.fields.items():
            yield self._field_head(name) + value.encode() + b"\r\n"
        for name, part in self.files:
            yield self._file_head(name, part)
            with open(part.path, "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    yield chunk
            yield b"\r\n"
        yield self._tail()


class Client:
    """One server: ``base_url`` plus an optional bearer token."""

    def __init__(self, base_url: str = DEFAULT_URL, token: str = "", timeout: float = 10.0) -> None:
        self.base_url = (base_url or DEFAULT_URL).rstrip("/")
        self.token = token.strip()
        self.timeout = timeout

    @property
    def is_local(self) -> bool:
        return is_loopback_url(self.base_url)

    # -- the API ---------------------------------------------------------------
    def health(self, timeout: float | None = None) -> dict:
        return self._json("GET", "/health", timeout=timeout)

    def emotions(self) -> list[dict]:
        return list(self._json("GET", "/emotions").get("emotions", []))

    def submit(self, fields: dict[str, str], files: list[str] | None = None, upload_timeout: float = 3600) -> dict:
        """``POST /jobs``; ``fields`` are form fields (``segments`` already JSON), ``files`` uploaded in order."""
        body = Multipart(fields, [("files", FilePart(p)) for p in files or []])
        headers = {"Content-Type": body.content_type, "Content-Length": str(len(body))}
        answer = self._json("POST", "/jobs", body=body, headers=headers, timeout=upload_timeout if files else None)
        if "id" not in answer:
            raise ServerError("The server accepted the job but did not say its id.")
        return answer

    def job(self, job_id: str) -> dict:
        return self._json("GET", f"/jobs/{_quote(job_id)}")

    def cancel(self, job_id: str) -> None:
        try:
            self._request("DELETE", f"/jobs/{_quote(job_id)}", timeout=5).close()
        except ServerError as exc:
            if exc.status != 404:  # already gone: nothing left to cancel
                raise

    def beats(self, job_id: str, take: int = 0) -> dict:
        return self._json("GET", f"/jobs/{_quote(job_id)}/beats?take={int(take)}")

    def download_audio(self, job_id: str, path: str, take: int = 0) -> int:
        """Stream the take's WAV into ``path`` (which must exist: see naming.claim_unique_file)."""
        return self._download(f"/jobs/{_quote(job_id)}/audio?take={int(take)}", path, "audio")

    def download_midi(self, job_id: str, path: str, take: int = 0) -> int:
        """The take's score as a MIDI file into ``path`` (composer jobs; docs/api.md)."""
        return self._download(f"/jobs/{_quote(job_id)}/midi?take={int(take)}", path, "MIDI")

    def _download(self, url: str, path: str, kind: str) -> int:
        written = 0
        with self._request("GET", url) as answer:
            with open(path, "wb") as handle:
                while chunk := answer.read(_CHUNK):
                    handle.write(chunk)
                    written += len(chunk)
        if written == 0:
            raise ServerError(f"The server sent an empty {kind} file.")
        return written

    # -- plumbing --------------------------------------------------------------
    def _json(self, method: str, path: str, **kwargs: object) -> dict:
        with self._request(method, path, **kwargs) as answer:
            raw = answer.read()
        try:
            value = json.loads(raw or b"{}")
        except ValueError as exc:
            raise ServerError(f"The server at {self.base_url} did not answer with JSON: is it Diff-V2M?") from exc
        if not isinstance(value, dict):
            raise ServerError(f"The server at {self.base_url} sent an unexpected answer to {path}.")
        return value

    def _request(
        self,
        method: str,
        path: str,
        body: object = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ):
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=dict(headers or {}))
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            raise ServerError(_detail(exc), exc.code) from None
        except TimeoutError:
            raise ServerUnreachable(f"The server at {self.base_url} did not answer in time.") from None
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise ServerUnreachable(f"The server at {self.base_url} did not answer in time.") from None
            raise ServerUnreachable(
                f"No Diff-V2M server answers at {self.base_url}: start it with 'diffv2m serve' "
                "(or Start Server in the add-on preferences)."
            ) from None


def _detail(error: urllib.error.HTTPError) -> str:
    """The server's one-sentence ``detail``, or a sentence made from the status."""
    try:
        detail = json.loads(error.read() or b"{}").get("detail")
    except (ValueError, AttributeError, OSError):
        detail = None
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list) and detail:  # FastAPI's validation errors
        first = detail[0]
        where = ".".join(str(x) for x in first.get("loc", [])[1:]) if isinstance(first, dict) else ""
        message = first.get("msg", "invalid request") if isinstance(first, dict) else str(first)
        return f"The server rejected the request ({where}: {message})." if where else f"{message}."
    if error.code == 401:
        return "The server needs a token: set it in the add-on preferences."
    return f"The server answered {error.code} {error.reason}."


def _quote(job_id: str) -> str:
    return urllib.parse.quote(str(job_id), safe="")
