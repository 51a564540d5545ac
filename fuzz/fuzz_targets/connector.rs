//! Every connector on arbitrary bytes: the first byte picks the connector (its index in the
//! registry), the second the table a canonical file is read as; the rest is the file. A panic the
//! reader contains (one clear problem) is not a crash; an abort, an uncontained panic, a timeout or
//! an allocation past libFuzzer's limit is.
#![no_main]

use std::sync::Once;

use assure_evidence::connectors::{self, Kind, REGISTRY};
use assure_evidence::tables::{TABLES, table};
use assure_evidence::vendor::Mapping;
use libfuzzer_sys::fuzz_target;

static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on any panic; the product contains a reader's panic and reports it as a
    // problem with the file, so only what escapes that containment is a finding here.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let [pick, which, file @ ..] = data else {
        return;
    };
    let c = REGISTRY[usize::from(*pick) % REGISTRY.len()];
    let canonical = TABLES[usize::from(*which) % TABLES.len()].name;
    let (name, mapping) = match c.kind() {
        Kind::Canonical(_) => (canonical, None),
        Kind::Vendor { table } => (table, None),
        Kind::Mapped { default_table } => {
            let m: Option<Mapping> = c.fixture().mapping.and_then(|m| serde_json::from_str(m).ok());
            (
                m.as_ref()
                    .and_then(|m| m.table.clone())
                    .map_or(default_table, |t| table(&t).map_or(default_table, |t| t.name)),
                m,
            )
        }
    };
    let Some(t) = table(name) else {
        return;
    };
    let mut rows = 0u64;
    let mut emit = |_: u64, _: Vec<Option<String>>| rows += 1;
    let out = connectors::read(c, Box::new(file), t, "fuzz", mapping.as_ref(), Some(&mut emit));
    assert!(out.problems.len() <= assure_evidence::read::MAX_PROBLEMS);
    // A canonical CSV is imported in blocks parsed side by side: cut anywhere, it must read to
    // what the one-pass reader reads (rows, problems and their lines), with records numbered by
    // the line they start on (new copies) and as the `csv` reader counts (older copies' rebuilds).
    if c.kind() == Kind::Canonical(assure_evidence::read::Format::Csv) {
        use assure_evidence::read::Lines;
        let block = usize::from(*which) % 97 + 1;
        let refused = |o: &assure_evidence::read::Outcome| o.problems.iter().any(|p| p.message.contains("reader failed"));
        for (layout, lines) in [(3, Lines::Start), (2, Lines::AsRead)] {
            let Ok(mut w) = assure_evidence::columnar::Writer::with_layout(t, layout) else {
                return;
            };
            let encoder = w.encoder();
            let mut each = |done| w.append(done);
            let blocks =
                assure_evidence::read::read_csv_in_blocks(file, t, "fuzz", &encoder, &mut each, block, lines);
            let one_pass = match lines {
                Lines::Start => out.clone(),
                Lines::AsRead => assure_evidence::read::read_csv_numbered(file, t, "fuzz", lines, None),
            };
            if !refused(&one_pass) && !refused(&blocks) {
                assert_eq!(blocks, one_pass, "blocks of {block}, {lines:?}");
            }
        }
    }
});
