"""Fixtures of the composer tests."""

from __future__ import annotations

import pytest

from diffv2m.engines.composer import ComposerEngine


@pytest.fixture(scope="session")
def composer() -> ComposerEngine:
    return ComposerEngine()
