"""``python -m tests.support.sheets_api --port 8085 [--spreadsheet-id ID] [--state file.json]``

Serves the Sheets API v4 on 127.0.0.1 until interrupted. With ``--state`` the spreadsheets are
loaded from the file at start and saved to it after every write and on shutdown. Point a client at
the printed URL instead of https://sheets.googleapis.com (any Authorization header is accepted).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from .server import SheetsApiServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.sheets_api", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8085, help="port (0: any free port; default 8085)")
    parser.add_argument(
        "--spreadsheet-id", action="append", default=[], help="make sure this spreadsheet exists"
    )
    parser.add_argument("--title", default="Untitled spreadsheet", help="title for spreadsheets created here")
    parser.add_argument("--tab", action="append", default=[], help="tab of created spreadsheets (repeatable)")
    parser.add_argument("--state", help="JSON file to load spreadsheets from and save them to")
    parser.add_argument("--seed", type=int, help="seed for generated ids")
    args = parser.parse_args(argv)

    server = SheetsApiServer(args.host, args.port, state_file=args.state, seed=args.seed)
    server.start()
    for sid in args.spreadsheet_id:
        if sid not in server.spreadsheet_ids():
            server.create_spreadsheet(args.title, {t: [] for t in args.tab} or None, spreadsheet_id=sid)
    print(f"Sheets API server listening on {server.url}", flush=True)
    for sid in server.spreadsheet_ids():
        print(f"spreadsheet {sid}: {', '.join(server.tabs(sid))}", flush=True)

    done = threading.Event()

    def stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
