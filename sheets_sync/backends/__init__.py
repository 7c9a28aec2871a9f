"""Workbook backends: the local .xlsx file and Google Sheets, behind one contract."""
