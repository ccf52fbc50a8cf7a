"""Scale-out: many ranges from one manifest (``diffv2m batch``) and the job queue on a Ray cluster
(``diffv2m serve --backend ray``). Ray is the optional extra ``.[ray]``: nothing here imports it
unless asked.

``diffv2m batch``: ``manifest`` reads and checks the rows, ``worker`` scores one row (the engine
loaded once per worker), ``store`` is the output folder (what is done, the event log), ``local``
and ``ray_runner`` run the rows, ``report`` writes report.md/report.json, ``batch`` ties them
together.

``diffv2m serve --backend ray``: ``cluster`` connects to Ray (one clear message when the extra is
missing), ``serve_worker`` is the long-lived actor that holds a loaded engine (weights once per
actor), ``backend`` is the job queue (per-pool queues, retries).
"""
