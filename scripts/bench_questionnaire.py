"""Writes the questionnaire benchmark's workbooks (no third-party text: questions are composed from
our own phrases) and measures openpyxl, what a user would script instead, on the same files.

  python3 scripts/bench_questionnaire.py write DIR   -> DIR/q300.xlsx, DIR/big.xlsx
  python3 scripts/bench_questionnaire.py openpyxl FILE  -> seconds and peak RSS of load_workbook
"""
import os, random, resource, sys, time, zipfile

SUBJECTS = [
    "multi-factor authentication for all user accounts", "encryption of customer data at rest",
    "encryption of data in transit with TLS", "quarterly user access reviews", "background checks for new hires",
    "annual security awareness training", "daily backups of production databases", "restore tests of backups",
    "a documented incident response plan", "vulnerability scanning of production systems",
    "annual penetration tests by a third party", "peer review of every change before deployment",
    "centralised logging and alerting on security events", "endpoint protection on company laptops",
    "disk encryption on employee laptops", "removal of access on the last day of employment",
    "least privilege for administrative access", "a vendor risk management process",
    "a business continuity plan", "a disaster recovery plan with defined RTO and RPO",
    "network segmentation between environments", "a web application firewall", "a data retention schedule",
    "secure disposal of storage media", "a risk assessment every year", "an information security policy",
    "an asset inventory of production systems", "hardened baseline configurations", "a code of conduct",
    "confidentiality agreements with employees", "monitoring of capacity and performance",
    "a privacy notice for personal data", "data processing agreements with subprocessors",
    "single sign-on for internal applications", "password complexity requirements",
    "segregation of duties in deployment", "static analysis of source code", "a bug bounty programme",
    "physical access controls at offices", "review of subservice organisations' SOC reports",
]
TEMPLATES = ["Do you have {}?", "Is there {} in place?", "Does the organisation maintain {}?",
             "Can you describe {}?", "Is {} reviewed at least annually?", "Do you enforce {}?",
             "Is {} documented and approved by management?", "Is {} tested regularly?"]
CHOICES = ["1) Yes", "2) No", "3) N/A", "4) Partial"]

def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

def istr(ref, text, style=""):
    return f'<c r="{ref}"{style} t="inlineStr"><is><t>{esc(text)}</t></is></c>'

def workbook(path, questions, filler_rows):
    rng = random.Random(7)
    rows = ['<row r="1">' + istr("A1", "Question ID") + istr("B1", "Question") + istr("C1", "Answer") + istr("D1", "Comments") + "</row>"]
    for i in range(questions):
        q = rng.choice(TEMPLATES).format(rng.choice(SUBJECTS))
        r = i + 2
        rows.append(f'<row r="{r}">' + istr(f"A{r}", f"Q-{i+1:04d}") + istr(f"B{r}", q) + f'<c r="C{r}" s="1"/></row>')
    sheet1 = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<sheetData>' + "".join(rows) + '</sheetData>'
              '<dataValidations count="2"><dataValidation type="list" allowBlank="1" sqref="C2:C1048576"><formula1>Lists!$A$1:$A$4</formula1></dataValidation>'
              '<dataValidation type="textLength" allowBlank="1" sqref="A1:XFD1048576"><formula1>0</formula1><formula2>32000</formula2></dataValidation></dataValidations></worksheet>')
    lists = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + "".join(f'<row r="{i+1}">{istr(f"A{i+1}", c)}</row>' for i, c in enumerate(CHOICES)) + '</sheetData></worksheet>')
    words = [w for s in SUBJECTS for w in s.split()]
    ref_rows = []
    for r in range(1, filler_rows + 1):
        cells = "".join(istr(f"{col}{r}", " ".join(rng.choice(words) for _ in range(6)) + f" {rng.randrange(10**9)}") for col in "ABCDEF")
        ref_rows.append(f'<row r="{r}">{cells}</row>')
    ref = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           + "".join(ref_rows) + '</sheetData><dataValidations count="1"><dataValidation type="list" allowBlank="1" sqref="A1:XFD1048576"><formula1>"x,y"</formula1></dataValidation></dataValidations></worksheet>')
    ns = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="{ns}/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>' + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in (1, 2, 3)) + '</Types>',
        "_rels/.rels": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{ns}/package/2006/relationships"><Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships"><sheets><sheet name="Questions" sheetId="1" r:id="rId1"/><sheet name="Lists" sheetId="2" state="hidden" r:id="rId2"/><sheet name="Reference" sheetId="3" r:id="rId3"/></sheets><calcPr calcId="191029"/></workbook>',
        "xl/_rels/workbook.xml.rels": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{ns}/package/2006/relationships">' + "".join(f'<Relationship Id="rId{i}" Type="{ns}/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in (1, 2, 3)) + f'<Relationship Id="rId4" Type="{ns}/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{ns}/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf/><xf applyProtection="1"><protection locked="0"/></xf></cellXfs></styleSheet>',
        "xl/worksheets/sheet1.xml": sheet1,
        "xl/worksheets/sheet2.xml": lists,
        "xl/worksheets/sheet3.xml": ref,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name in ["[Content_Types].xml"] + sorted(k for k in parts if k != "[Content_Types].xml"):
            z.writestr(name, parts[name])

if sys.argv[1] == "write":
    d = sys.argv[2]
    workbook(os.path.join(d, "q300.xlsx"), 300, 0)
    workbook(os.path.join(d, "big.xlsx"), 300, 75_000)
    for f in ("q300.xlsx", "big.xlsx"):
        print(f"{f}: {os.path.getsize(os.path.join(d, f))} bytes")
else:
    import openpyxl
    t = time.time()
    wb = openpyxl.load_workbook(sys.argv[2])
    n = sum(1 for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None)
    print(f"{time.time() - t:.2f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} {n}")
