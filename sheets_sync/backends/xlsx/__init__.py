"""The local workbook backend: an .xlsx file read and written with openpyxl.

backend (the `Backend` contract), lock (the lock file), rows (tabs as rows of values), style (how the tabs
look), summary_tab (the summary tab and its chart), preflight (what could stop the save), save (atomic).
"""

from sheets_sync.backends.xlsx.backend import XlsxBackend

__all__ = ["XlsxBackend"]
