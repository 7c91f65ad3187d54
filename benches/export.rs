//! CSV export of a large audience to `io::sink`: throughput, and peak memory (VmHWM) before and
//! after, showing it does not grow with the audience. Profiles are built one at a time, as a
//! columnar store or a resolution pass would feed them, so only the exporter's memory shows.
//!
//! `cargo bench --bench export` (Linux: VmHWM comes from /proc/self/status).

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::time::Instant;

use serde_json::json;
use tessera::activation::csv::{ColumnSpec, CsvExport};
use tessera::activation::meta::{MetaBatches, MetaSchema};
use tessera::identity::Profile;
use tessera::Timestamp;

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn synthetic_profile(i: u64) -> Profile {
    let mut identifiers = BTreeMap::new();
    let email = BTreeSet::from([format!("user{i}@example.com")]);
    identifiers.insert("email".to_owned(), email);
    identifiers.insert(
        "user_id".to_owned(),
        BTreeSet::from([format!("usr_{i:08x}")]),
    );
    if i % 3 == 0 {
        identifiers.insert(
            "phone".to_owned(),
            BTreeSet::from([format!("+1415555{:04}", i % 10_000)]),
        );
    }
    let plan = ["free", "pro", "enterprise"][(i % 3) as usize];
    let note = if i % 10 == 0 {
        "=cmd, \"quoted\""
    } else {
        "plain"
    };
    let traits = json!({
        "plan": plan,
        "first_name": "Ann",
        "last_name": "O'Brien",
        "country": "US",
        "city": "San Francisco",
        "state": "California",
        "zip": "94107-1234",
        "age": 20 + i % 50,
        "note": note,
    });
    Profile {
        id: format!("p_{i:016x}"),
        identifiers,
        traits: traits.as_object().cloned().unwrap_or_default(),
        event_count: 20,
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
    }
}

fn csv_run(columns: &ColumnSpec, n: u64) -> f64 {
    let start = Instant::now();
    let mut export = CsvExport::new(io::sink(), columns).expect("header");
    for i in 0..n {
        export.write_profile(&synthetic_profile(i)).expect("row");
    }
    export.finish().expect("flush");
    start.elapsed().as_secs_f64()
}

fn main() {
    let columns = ColumnSpec::parse("email,user_id,phone,plan,country,age,note").expect("columns");
    csv_run(&columns, 1_000);
    let before = vm_hwm_kb();
    let t_small = csv_run(&columns, 100_000);
    let after_small = vm_hwm_kb();
    let t_big = csv_run(&columns, 1_000_000);
    let after_big = vm_hwm_kb();
    println!("csv export to io::sink, 7 columns");
    println!(
        "  100,000 rows: {t_small:.2} s ({:.0} rows/s)",
        100_000.0 / t_small
    );
    println!(
        "  1,000,000 rows: {t_big:.2} s ({:.0} rows/s)",
        1_000_000.0 / t_big
    );
    println!(
        "  VmHWM before: {} kB, after 100k: {} kB, after 1M: {} kB",
        before.unwrap_or(0),
        after_small.unwrap_or(0),
        after_big.unwrap_or(0)
    );

    let schema =
        MetaSchema::parse("EMAIL,PHONE,FN,LN,CT,ST,ZIP,COUNTRY,EXTERN_ID").expect("schema");
    let start = Instant::now();
    let mut batches = 0;
    // Profiles are made as the batcher pulls them; one is kept alive at a time.
    let mut holder = Vec::with_capacity(1);
    let mut rows = 0u64;
    for chunk_start in (0..1_000_000u64).step_by(10_000) {
        holder.clear();
        holder.extend((chunk_start..chunk_start + 10_000).map(synthetic_profile));
        for payload in MetaBatches::new(schema.clone(), holder.iter(), 1, 1_000_000) {
            serde_json::to_writer(io::sink(), &payload).expect("serialize");
            rows += payload.payload.data.len() as u64;
            batches += 1;
        }
    }
    let t = start.elapsed().as_secs_f64();
    println!(
        "meta payloads, 9 keys: {rows} rows in {batches} batches, {t:.2} s ({:.0} rows/s), VmHWM {} kB",
        rows as f64 / t,
        vm_hwm_kb().unwrap_or(0)
    );
}
