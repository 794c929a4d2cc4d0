"""Prefect flows that wire the pure steps of data_contracts/, features/ and models/, and the CLI."""

import os

# A local run starts Prefect's own temporary server; it must not phone home (no network here).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
# On a busy 2-core machine the temporary server can take longer than Prefect's default 20 s to come up.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# Progress and summaries are the CLI's job; Prefect reports only problems on the console.
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
