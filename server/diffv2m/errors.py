"""User-facing errors.

Every error a user can cause carries one clear sentence (``message``) and the HTTP
status the API answers with, so the CLI, the server and the add-on all report the
same words for the same problem.
"""

from __future__ import annotations


class Diffv2mError(Exception):
    """Base class: ``message`` is shown to the user as-is, ``status`` is the HTTP code."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(Diffv2mError):
    """The request itself is wrong (bad parameter, unknown emotion, empty range...)."""

    status = 422


class VideoError(InputError):
    """The video cannot be used: not a video, truncated, no picture, unreadable."""

    status = 415


class RangeError(InputError):
    """The requested time range is empty or lies outside the video."""

    status = 422


class WeightsError(Diffv2mError):
    """Model weights are missing, incomplete or do not match their config."""

    status = 503


class SoundBankError(Diffv2mError):
    """The configured General-MIDI sound bank is missing, unreadable, or cannot be rendered."""

    status = 503


class Cancelled(Exception):
    """Raised inside a job when its cancel flag is set; not an error for the user."""


class AccessDenied(Diffv2mError):
    """The client may not do this (missing token, local path from a remote client, outside allowed roots)."""

    status = 403


class Unauthorized(AccessDenied):
    """No or wrong ``Authorization: Bearer`` token."""

    status = 401


class NotFound(Diffv2mError):
    """The job or file asked for does not exist (any more)."""

    status = 404


class PayloadTooLarge(InputError):
    """An upload exceeds the server's size limit."""

    status = 413
