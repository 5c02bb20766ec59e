"""``patronage serve``: the REST API and the web pages on one port, in one process or several
(``--workers``) for production."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from patronage.cli.common import console, state

app = typer.Typer()


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Demo mode: the default secret key is "
                                       "accepted.")] = False,
    workers: Annotated[int, typer.Option(
        min=1, max=64, help="Server processes (production: about two per core); each keeps "
        "its own pool of PATRONAGE_DB_POOL_SIZE connections.")] = 1,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        "--forwarded-allow-ips", help="Reverse proxies whose X-Forwarded-For/-Proto are "
        "believed (addresses or networks, comma separated); default: "
        "PATRONAGE_TRUSTED_PROXIES.")] = None,
    graceful_timeout: Annotated[int, typer.Option(
        min=1, help="Seconds requests in flight get to finish after SIGTERM.")] = 30,
) -> None:
    """Serve the REST API (/api/v1, documented at /docs) and the back office pages, with
    /healthz, /readyz and /metrics. SIGTERM stops taking connections and lets the requests in
    flight finish (up to --graceful-timeout seconds)."""
    import tempfile

    import uvicorn

    from patronage.operations.logs import configure_logging
    from patronage.server import create_app

    settings = state(ctx).settings()
    update: dict[str, object] = {}
    if demo:
        update["demo_mode"] = True
    if forwarded_allow_ips is not None:
        update["trusted_proxies"] = forwarded_allow_ips
    settings = settings.model_copy(update=update)
    settings.check_secret()
    settings.proxy_networks()
    configure_logging(settings.log_level, settings.log_format)
    engine = state(ctx).engine()  # the schema brought up to date once, before any worker
    console.print(f"Serving on http://{host}:{port} with {workers} process"
                  f"{'es' if workers > 1 else ''} (API docs at /docs)")
    # The app believes X-Forwarded-* only from the trusted proxies; uvicorn would otherwise
    # believe them from any local process.
    if workers == 1:
        uvicorn.run(create_app(settings=settings, engine=engine, migrate=False), host=host,
                    port=port, proxy_headers=False, access_log=False, log_config=None,
                    timeout_graceful_shutdown=graceful_timeout)
        return
    # Several processes: each makes its app from the environment (patronage.server:from_env),
    # so the settings given here travel as PATRONAGE_* variables; their request metrics are
    # added up through prometheus_client's multiprocess directory.
    engine.dispose()
    os.environ["PATRONAGE_DATABASE_URL"] = settings.database_url
    os.environ["PATRONAGE_DEMO_MODE"] = "true" if settings.demo_mode else "false"
    os.environ["PATRONAGE_TRUSTED_PROXIES"] = settings.trusted_proxies
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="patronage-"))
    uvicorn.run("patronage.server:from_env", factory=True, workers=workers, host=host,
                port=port, proxy_headers=False, access_log=False, log_config=None,
                timeout_graceful_shutdown=graceful_timeout)
