//! Runs the same expanded control-test SQL (`assure test --emit-sql DIR`) over the same canonical
//! CSV exports (`assure synth`) twice: on embedded DataFusion, as `assure test` does, and on a
//! Ballista standalone cluster (a scheduler and an executor in this process, talking gRPC over
//! loopback), then compares the failing and total row counts of every test.
//!
//!     ballista-proof EXPORTS_DIR SQL_DIR

use std::collections::BTreeMap;
use std::time::Instant;

use ballista::prelude::SessionContextExt as _;
use datafusion::prelude::{CsvReadOptions, SessionContext};

async fn register(ctx: &SessionContext, exports: &str) -> datafusion::error::Result<Vec<String>> {
    let mut names = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(exports)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "csv"))
        .collect();
    paths.sort();
    for p in paths {
        let name = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        ctx.register_csv(&name, p.to_string_lossy().as_ref(), CsvReadOptions::new())
            .await?;
        names.push(name);
    }
    ctx.sql("CREATE TABLE project_policies(policy_id VARCHAR, version VARCHAR, approved_on DATE, applies_to VARCHAR)")
        .await?
        .collect()
        .await?;
    Ok(names)
}

async fn counts(ctx: &SessionContext, sql: &str) -> Result<(i64, i64), String> {
    let wrapped = format!(
        "SELECT CAST(count(*) FILTER (WHERE status = 'fail') AS BIGINT) AS f, CAST(count(*) AS BIGINT) AS n FROM ({})",
        sql.trim().trim_end_matches(';')
    );
    let batches = ctx
        .sql(&wrapped)
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let b = batches.first().ok_or("no result")?;
    let col = |i: usize| {
        b.column(i)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .map(|a| a.value(0))
            .ok_or("not a count")
    };
    Ok((col(0)?, col(1)?))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, exports, sql_dir] = args.as_slice() else {
        return Err("usage: ballista-proof EXPORTS_DIR SQL_DIR".into());
    };
    let local = SessionContext::new();
    let t = Instant::now();
    let distributed = SessionContext::standalone().await?;
    println!("Ballista standalone cluster started in {:.1} s", t.elapsed().as_secs_f64());
    let tables = register(&local, exports).await?;
    register(&distributed, exports).await?;
    println!("tables: {}", tables.join(", "));
    let mut tests: Vec<_> = std::fs::read_dir(sql_dir)?.flatten().map(|e| e.path()).collect();
    tests.sort();
    let (mut same, mut differ, mut local_only, mut neither) = (0, 0, BTreeMap::new(), 0);
    let (mut local_s, mut dist_s) = (0.0, 0.0);
    for path in tests {
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let sql = std::fs::read_to_string(&path)?;
        let t = Instant::now();
        let a = counts(&local, &sql).await;
        local_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let b = counts(&distributed, &sql).await;
        dist_s += t.elapsed().as_secs_f64();
        match (a, b) {
            (Ok(a), Ok(b)) if a == b => {
                same += 1;
                println!("same      {name}: {} failing of {}", a.0, a.1);
            }
            (Ok(a), Ok(b)) => {
                differ += 1;
                println!("DIFFERENT {name}: embedded {a:?}, Ballista {b:?}");
            }
            (Ok(_), Err(e)) => {
                println!("embedded only {name}: Ballista says {}", e.lines().next().unwrap_or(""));
                local_only.insert(name, e);
            }
            (Err(e), _) => {
                neither += 1;
                println!("not run   {name}: {}", e.lines().next().unwrap_or(""));
            }
        }
    }
    println!(
        "{same} tests gave the same counts on Ballista, {differ} different, {} ran embedded only, {neither} ran on neither (see each line for why); embedded {local_s:.2} s, Ballista {dist_s:.2} s",
        local_only.len()
    );
    if differ > 0 {
        return Err("results differ".into());
    }
    Ok(())
}
