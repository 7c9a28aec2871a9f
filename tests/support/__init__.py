"""What the tests and the benchmarks run against: the Sheets API, SMTP and LINE test servers, the workbooks.

from tests.support import smtp_server, workbooks as wb
from tests.support.sheets_api import SheetsApiServer
"""
