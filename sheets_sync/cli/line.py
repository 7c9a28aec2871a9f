"""LINE: collecting the schools' LINE ids (line-listen)."""

from __future__ import annotations

import click

from sheets_sync.cli.common import Context, common_options


@click.command("line-listen")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (the tunnel's side)."
)
@common_options
def line_listen(ctx: Context, port: int, host: str) -> None:
    """Collect LINE ids: a webhook for LINE, run behind an HTTPS tunnel for an afternoon.

    A school's staff add the office's LINE account as a friend and send the 10-digit school code:
    their LINE id is written into that school's line_id (ไลน์ไอดี) column. Added to a group, the
    account prints the group's id (for [line] officer_to). Stop it with Ctrl-C.
    """
    from sheets_sync.line.listen import make_server

    server = make_server(ctx.config, port, host, click.echo, ctx.progress)
    ctx.progress(f"listening on http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        ctx.progress("stopped")
    finally:
        server.server_close()
