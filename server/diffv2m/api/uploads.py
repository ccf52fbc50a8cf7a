"""Streaming ``multipart/form-data`` reader for ``POST /jobs``.

Starlette's form parser spools whole uploads to temporary files before a route
sees them and has no size limit for file parts. Uploads here can be gigabytes,
so this reader feeds the request stream straight into ``python_multipart`` and
writes each file part to a file the server names itself (the client's file name
is never used as a path), counting bytes and stopping at the size limit.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from ..errors import InputError, PayloadTooLarge
from ..limits import MAX_FIELD_BYTES, MAX_PARTS, shown


@dataclass
class UploadedFile:
    field: str  # form field name ("video" or "files")
    path: Path  # where the server stored it (a name the server chose)
    size: int
    client_name: str  # for messages only, never as a path


def display_name(raw: str) -> str:
    """The base name of a client's file name, printable and short: only for messages."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())[:100]
    return name or "the uploaded video"


def safe_suffix(raw: str) -> str:
    """'.mp4' from 'clip.MP4' (a hint for demuxers); '.bin' when there is no plain extension."""
    suffix = display_name(raw).rpartition(".")[2].lower() if "." in raw else ""
    return f".{suffix}" if re.fullmatch(r"[a-z0-9]{1,5}", suffix) else ".bin"


@dataclass
class ParsedForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[UploadedFile] = field(default_factory=list)

    def files_named(self, name: str) -> list[UploadedFile]:
        return [f for f in self.files if f.field == name]


class _Collector:
    """python_multipart callbacks: text fields in memory, file parts onto disk."""

    def __init__(self, folder: Path, max_upload_bytes: int) -> None:
        self.folder = folder
        self.max_upload_bytes = max_upload_bytes
        self.form = ParsedForm()
        self.uploaded_bytes = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._text: bytearray | None = None
        self._file: BinaryIO | None = None
        self._file_entry: UploadedFile | None = None
        self._parts = 0

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise InputError(f"The request has more than {MAX_PARTS} form fields.")
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise InputError("A form field has no name in its Content-Disposition header.")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            # Our own name, never the client's: client file names are not paths.
            client_name = options[b"filename"].decode("utf-8", "replace")
            path = self.folder / f"upload-{len(self.form.files)}{safe_suffix(client_name)}"
            self._file = path.open("wb")
            self._file_entry = UploadedFile(self._name, path, 0, display_name(client_name))
            self.form.files.append(self._file_entry)
            self._text = None
        else:
            self._text = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._file is not None and self._file_entry is not None:
            self.uploaded_bytes += len(chunk)
            if self.uploaded_bytes > self.max_upload_bytes:
                raise PayloadTooLarge(too_large_message(self.max_upload_bytes))
            self._file.write(chunk)
            self._file_entry.size += len(chunk)
        elif self._text is not None:
            if len(self._text) + len(chunk) > MAX_FIELD_BYTES:
                raise InputError(f"The form field '{shown(self._name)}' is longer than {MAX_FIELD_BYTES // 1024} KB.")
            self._text.extend(chunk)

    def on_part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._file_entry = None
        elif self._text is not None:
            if self._name in self.form.fields:
                raise InputError(f"The form field '{shown(self._name)}' is given twice.")
            self.form.fields[self._name] = self._text.decode("utf-8", "replace")
            self._text = None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def too_large_message(limit_bytes: int) -> str:
    return f"The upload is larger than the server's limit of {limit_bytes / 1024 / 1024:g} MB."


async def read_form(
    content_type: str | None, stream: AsyncIterator[bytes], folder: Path, max_upload_bytes: int
) -> ParsedForm:
    """Parse a multipart body from ``stream``; file parts land in ``folder``.

    On any error the partially written files stay in ``folder``: the caller owns
    the folder and removes it.
    """
    kind, params = parse_options_header(content_type or "")
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise InputError("POST /jobs takes multipart/form-data (a 'video' file, 'video_path' or 'segments').")
    folder.mkdir(parents=True, exist_ok=True)
    collector = _Collector(folder, max_upload_bytes)
    parser = MultipartParser(params[b"boundary"], collector.callbacks())
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise InputError("The multipart form data is malformed.") from exc
    else:
        if parser.state != MultipartState.END:
            raise InputError("The multipart form data ends without its closing boundary: the request is incomplete.")
    finally:
        collector.close()
    return collector.form
