#!/usr/bin/env python3
"""Reads a Word document with python-docx (independent of the writer) and prints what a test
checks, as JSON: each paragraph's style and text, each table's rows, whether each table's first
row repeats as a header, the page header and footer text, and the core properties' dates."""
import json
import sys

import docx
from docx.oxml.ns import qn

d = docx.Document(sys.argv[1])
tables = []
for t in d.tables:
    first = t.rows[0]._tr if t.rows else None
    header = first is not None and first.trPr is not None and first.trPr.find(qn("w:tblHeader")) is not None
    tables.append({"header": header, "rows": [[c.text for c in r.cells] for r in t.rows]})
section = d.sections[0]
print(json.dumps({
    "paragraphs": [[p.style.name, p.text] for p in d.paragraphs],
    "tables": tables,
    "header": "\n".join(p.text for p in section.header.paragraphs),
    "footer": "\n".join(p.text for p in section.footer.paragraphs),
    "created": d.core_properties.created.isoformat() if d.core_properties.created else None,
}))
