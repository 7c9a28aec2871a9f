"""Benchmarks: the sync at N schools on both backends, the naive gspread peer, the JSON floor, mail throughput.

    python -m benchmarks                      # N = 100, 1,000, 10,000, 30,000 (see benchmarks/README.md)
    python -m benchmarks --quick              # a smoke run in under 30 s
    python -m benchmarks --sizes 1000 --repeats 3 --skip-xlsx --out /tmp/bench.json

Everything runs on 127.0.0.1: the Sheets API test server and the SMTP test server live in this (parent)
process; every measurement runs in a fresh child process (`--child`), so its peak RSS is its own and the
servers' memory is not counted. Data is built here from a fixed seed; nothing is downloaded.

One module per measurement: `workbook` (the office's workbook, the .xlsx file, the config), `sync`, `naive`
(the naive gspread peer), `floor`, `mail`, `line_push` (`python -m benchmarks.line_push`), `table` and
`targets` (what is printed); `process` runs the child processes, `__main__` the whole.
"""
