"""Audio post-processing shared by every engine (loudness, true peak, DC)."""
