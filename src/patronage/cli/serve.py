"""``patronage serve``: the REST API and the web pages on one port."""

from __future__ import annotations

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
) -> None:
    """Serve the REST API (/api/v1, documented at /docs) and the back office pages."""
    import uvicorn

    from patronage.server import create_app

    settings = state(ctx).settings()
    if demo:
        settings = settings.model_copy(update={"demo_mode": True})
    app_ = create_app(settings=settings, engine=state(ctx).engine())
    console.print(f"Serving on http://{host}:{port} (API docs at /docs)")
    # The app itself believes X-Forwarded-* only from PATRONAGE_TRUSTED_PROXIES; uvicorn
    # would otherwise believe them from any local process.
    uvicorn.run(app_, host=host, port=port, log_level="info", proxy_headers=False)
