"""The one home of audio analysis: the loader (``io``), the onset detector (``onsets``), beats, loudness."""
