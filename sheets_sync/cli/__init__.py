"""The `sheets-sync` command: a thin shell over the core. Data on stdout, progress on stderr.

`main.py` is the group; `common.py` what every command shares (the guarded output, --config and --quiet,
one-line errors, --today); the commands live by what they serve: `setup.py` (init, new-year,
import-schools, share-list, doctor), `daily.py` (sync, demo), `reading.py` (status, validate, preview,
report), `line.py` (line-listen), `reconcile.py` (reconcile).
"""

from sheets_sync.cli.main import cli, main

__all__ = ["cli", "main"]
