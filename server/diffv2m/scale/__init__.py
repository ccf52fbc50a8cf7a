"""Scale-out on a Ray cluster (optional extra ``.[ray]``): nothing here is imported unless asked.

- ``cluster``: connecting to Ray, with one clear message when the extra is missing;
- ``worker``: the long-lived actor that holds a loaded engine (weights once per actor);
- ``backend``: the job queue of ``diffv2m serve --backend ray`` (per-pool queues, retries);
- ``manifest`` / ``batch`` / ``report``: ``diffv2m batch``.
"""
