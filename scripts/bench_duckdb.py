"""The DuckDB side of scripts/bench.sh: load the same CSV files and run the same expanded SQL."""
import glob, json, os, sys, time

import duckdb

work = sys.argv[1]
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
# The helper Assure's engine provides, as a DuckDB macro (Monday-Friday business days).
con.execute("""CREATE MACRO add_business_days(d, n) AS CAST(
    CAST(CASE WHEN isodow(d) > 5 THEN d - to_days(CAST(isodow(d) - 5 AS INTEGER)) ELSE d END AS DATE)
    + to_days(CAST(n + 2 * ((LEAST(isodow(d), 5) - 1 + n) // 5) AS INTEGER)) AS DATE)""")
# DataFusion's name for "the text has a match of the pattern".
con.execute("CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)")
t0 = time.perf_counter()
for path in sorted(glob.glob(f"{work}/exports/*.csv")):
    name = os.path.basename(path)[:-4]
    src = f"read_csv('{path}', header=true, all_varchar=false, timestampformat='%Y-%m-%dT%H:%M:%SZ')"
    # Each row's lineage, as Assure's tables carry it (the tests that test row by row return it).
    lineage = f"'{name}' AS _evidence, CAST(row_number() OVER () + 1 AS BIGINT) AS _row"
    if name == "changes":
        # As the evidence tables define it: distinct approvers, an empty list when there are none
        # (Assure's identity resolution also maps each to the person's primary email and sorts them).
        con.execute(f"""CREATE TABLE {name} AS SELECT * REPLACE (
            list_sort(list_distinct(list_filter(string_split(lower(coalesce(approver_emails, '')), ';'), lambda x: x <> ''))) AS approver_emails),
            {lineage} FROM {src}""")
    else:
        con.execute(f"CREATE TABLE {name} AS SELECT *, {lineage} FROM {src}")
load_s = time.perf_counter() - t0
# project_policies, as the engine builds it: each policy's id, version, recorded approval and
# audience, from `assure policy list --json` (bench.sh writes it beside the exports).
con.execute("CREATE TABLE project_policies(policy_id VARCHAR, version VARCHAR, approved_on DATE, applies_to VARCHAR)")
for pol in json.load(open(f"{work}/policies.json")):
    con.execute("INSERT INTO project_policies VALUES (?, ?, CAST(? AS DATE), ?)",
                [pol["id"], pol.get("version") or "", pol.get("approved_on"), pol.get("applies_to") or "all"])
# Each test timed two ways:
# - query_s: counting its exceptions and population only. DuckDB's optimiser then computes neither
#   the item ids nor the reasons, so this is less work than a test does.
# - rows_s: producing every row the test returns (item, status, reason, the other columns), kept
#   as a table: the rows a test records.
ran, skipped, query_s, rows_s, counts, errors = [], [], 0.0, 0.0, {}, {}
files = sorted(glob.glob(f"{work}/sql/*.sql"))
for f in files:
    sql = open(f).read().rstrip().rstrip(';')
    test = os.path.basename(f)[:-4]
    try:
        t0 = time.perf_counter()
        rows = con.execute(f"SELECT count(*) FILTER (WHERE status = 'fail'), count(*) FROM ({sql})").fetchone()
        t1 = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE result AS {sql}")
        t2 = time.perf_counter()
        con.execute("DROP TABLE result")
        # Added only once both ran, so a test left out is left out of both totals.
        query_s += t1 - t0
        rows_s += t2 - t1
        ran.append(test)
        counts[test] = {"fail": rows[0], "population": rows[1]}
    except Exception as e:  # a dialect difference: reported, left out of the comparison
        skipped.append(test)
        errors[test] = str(e).splitlines()[0]
print(json.dumps({"load_s": load_s, "query_s": query_s, "rows_s": rows_s, "ran": ran, "skipped": skipped, "assure_tests": len(files), "counts": counts, "errors": errors}))
