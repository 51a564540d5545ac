#!/usr/bin/env python3
"""Reads an XLSX workbook with openpyxl (independent of the writer) and prints what a test checks,
as JSON: sheet names, and per sheet the header row, frozen panes, autofilter, column widths, row
count, the types of the cells in the first data row, whether any cell holds a formula, and the
print setup (orientation, fit to pages, rows repeated on every page)."""
import json
import sys

import openpyxl

wb = openpyxl.load_workbook(sys.argv[1])
out = {"sheets": wb.sheetnames, "detail": {}}
for ws in wb.worksheets:
    header_row = None
    for row in ws.iter_rows(min_row=1, max_row=12):
        if row[0].font is not None and row[0].font.b and row[0].fill.fgColor.rgb not in (None, "00000000"):
            header_row = row[0].row
            break
    headers = [c.value for c in ws[header_row]] if header_row else []
    first = [type(c.value).__name__ for c in ws[header_row + 1]] if header_row and ws.max_row > header_row else []
    first_values = [c.value if not hasattr(c.value, "isoformat") else c.value.isoformat() for c in ws[header_row + 1]] if header_row and ws.max_row > header_row else []
    formulas = any(isinstance(c.value, str) and c.value.startswith("=") for r in ws.iter_rows() for c in r)
    out["detail"][ws.title] = {
        "header_row": header_row,
        "headers": headers,
        "freeze": ws.freeze_panes,
        "filter": ws.auto_filter.ref,
        "widths": {k: round(v.width, 1) for k, v in sorted(ws.column_dimensions.items()) if v.width},
        "rows": ws.max_row - (header_row or 0),
        "first_types": first,
        "first_values": first_values,
        "formulas": formulas,
        "print": {
            "orientation": ws.page_setup.orientation,
            # With fit-to-page on, an absent fitToWidth or fitToHeight means 1 (the file format's default).
            "fit_width": (1 if ws.page_setup.fitToWidth is None else int(ws.page_setup.fitToWidth)) if ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage else None,
            "fit_height": (1 if ws.page_setup.fitToHeight is None else int(ws.page_setup.fitToHeight)) if ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage else None,
            "title_rows": ws.print_title_rows,
        },
    }
print(json.dumps(out, default=str))
