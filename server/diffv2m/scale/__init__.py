"""``diffv2m batch``: many ranges scored from one manifest, in this process or on a Ray cluster.

One module one job: ``manifest`` reads and checks the rows, ``worker`` scores one
row (the engine loaded once per worker), ``store`` is the output folder (what is
done, the event log), ``local`` and ``ray_runner`` run the rows, ``report`` writes
report.md/report.json, ``batch`` ties them together. Nothing here imports Ray
unless ``--ray`` is given.
"""
