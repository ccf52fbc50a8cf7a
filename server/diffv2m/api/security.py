"""Who may talk to the server and which local files it may read.

- A non-loopback bind without a token refuses to start (``check_bind``).
- With a token, every request but ``GET /health`` needs ``Authorization: Bearer``.
- Local paths (``video_path``, segment ``path``) are only for loopback clients that
  are not web browsers (unless ``allow_browser_paths``), and must be readable
  regular files under the allowed roots.
- On a loopback bind, requests must name a loopback host and come from no foreign
  web origin (``Origin: null`` counts as foreign): this stops a web page in the
  user's browser from driving the server (DNS rebinding, cross-site form posts).
  The threat model is in docs/server.md, "Security".
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request

from ..errors import AccessDenied, InputError, Unauthorized
from ..limits import shown
from ..settings import Settings

# Headers only browsers send (scripts and the add-on send none of them).
BROWSER_HEADERS = ("origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest")


@dataclass(frozen=True)
class Client:
    """Who sent a request: its address, and whether a web browser sent it."""

    host: str | None
    browser: bool = False

    @classmethod
    def of(cls, request: Request) -> Client:
        host = request.client.host if request.client else None
        return cls(host, any(name in request.headers for name in BROWSER_HEADERS))


LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost (a host, not host:port)."""
    if not host:
        return False
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def check_bind(settings: Settings) -> None:
    """Refuse to serve beyond this machine without a token."""
    if not is_loopback(settings.host) and not settings.token:
        raise AccessDenied(
            f"Refusing to listen on {settings.host} without a token: set --token or DIFFV2M_TOKEN "
            "(or bind to 127.0.0.1)."
        )


def check_token(settings: Settings, authorization: str | None) -> None:
    if not settings.token:
        return
    scheme, _, supplied = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), settings.token.encode()):
        raise Unauthorized("This server needs 'Authorization: Bearer <token>' with its token.")


def _host_only(host_header: str) -> str:
    """'127.0.0.1:8767' -> '127.0.0.1', '[::1]:80' -> '::1'."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def check_browser_origin(settings: Settings, host_header: str | None, origin: str | None) -> None:
    """On a loopback bind, only loopback Host names and no foreign web origins."""
    if not is_loopback(settings.host):
        return  # token-protected: a browser cannot forge the Authorization header cross-site
    if host_header and not is_loopback(_host_only(host_header)):
        raise AccessDenied("Requests to this local server must address it as localhost or 127.0.0.1.")
    # Sandboxed iframes, file:// pages and cross-site redirects send "null": a page, not this machine's.
    if origin is not None and not _loopback_origin(origin):
        raise AccessDenied("Web pages from other sites may not use this local server (a loopback Origin only).")


def _loopback_origin(origin: str) -> bool:
    try:
        return is_loopback(urlsplit(origin.strip()).hostname)
    except ValueError:
        return False


def check_local_path(settings: Settings, client: Client, raw_path: str) -> Path:
    """Validate a client-named local file and return its resolved path."""
    if not is_loopback(client.host):
        raise AccessDenied("Local file paths are only accepted from this machine; upload the video instead.")
    if client.browser and not settings.allow_browser_paths:
        raise AccessDenied(
            "Web pages may not name local files ('video_path', segment 'path'): upload the video, "
            "or start the server with --allow-browser-paths."
        )
    text = raw_path.strip()
    if not text:
        raise InputError("The video path is empty.")
    if "\0" in text:
        raise InputError(f"The video path contains a NUL byte: {shown(text)}")
    path = Path(text).expanduser()
    text = shown(text)
    if not path.is_absolute():
        raise InputError(f"The video path must be absolute: {text}")
    try:
        resolved = path.resolve(strict=True)
        info = resolved.stat()
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputError(f"The video file does not exist or cannot be reached: {text}") from exc
    if settings.allowed_roots and not any(_is_under(resolved, root) for root in settings.allowed_roots):
        roots = ", ".join(str(r) for r in settings.allowed_roots)
        raise AccessDenied(f"The video {text} is outside the folders this server may read ({roots}).")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"The video path is not a regular file: {text}")
    if not os.access(resolved, os.R_OK):
        raise AccessDenied(f"The server may not read the video file: {text}")
    return resolved


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root.expanduser().resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True
