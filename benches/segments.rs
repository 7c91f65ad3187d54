//! Segment evaluation benchmarks: the six reference segments on 1M and 10M generated events
//! (one thread, data already in the store).
//!
//! `cargo bench --bench segments` runs criterion. `TESSERA_BENCH_SIZES=1000000` picks the sizes.
//! With `TESSERA_BENCH_EXPORT=DIR` it instead writes the generated data as CSV plus our own
//! timings to DIR and exits; `bench/duckdb_compare.py` runs that and compares with DuckDB.
//! With `TESSERA_BENCH_SNAPSHOT=FILE.tsnap` it runs the six segments on that snapshot instead
//! (e.g. one `tessera snapshot` wrote from `tessera gen` data).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Instant;

use criterion::{black_box, BenchmarkId, Criterion};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{json, Value};
use tessera::event::Object;
use tessera::identity::Profile;
use tessera::segment::{SavedSegments, Segment, Store, StoreBuilder};
use tessera::{CallType, Event, Timestamp};

/// 2026-06-01T00:00:00Z, the end of the generated window and the evaluation time.
const NOW: i64 = 1_780_272_000_000;
const DAY: i64 = 86_400_000;

const SEGMENTS: [(&str, &str); 6] = [
    (
        "S1",
        r#"{"event": "Order Completed", "within": "30d", "count": {"gte": 2}}"#,
    ),
    (
        "S2",
        r#"{"and": [{"event": "Order Completed", "sum": {"property": "revenue", "gt": 200}}, {"trait": "plan", "op": "eq", "value": "pro"}]}"#,
    ),
    (
        "S3",
        r#"{"and": [{"event": "*", "call": "page", "within": "7d", "where": [{"property": "path", "op": "starts_with", "value": "/pricing"}]}, {"not": {"event": "Order Completed"}}]}"#,
    ),
    (
        "S4",
        r#"{"event": "Product Added", "within": "14d", "not_followed_by": {"event": "Order Completed", "within": "1d"}}"#,
    ),
    (
        "S5",
        r#"{"and": [{"or": [{"trait": "country", "op": "in", "value": ["US", "CA"]}, {"trait": "age", "op": "gte", "value": 40}]}, {"event": "Email Opened", "count": {"gte": 3}}]}"#,
    ),
    ("S6", r#"{"last_seen": {"before": "60d"}}"#),
];

const PATHS: [&str; 8] = [
    "/",
    "/pricing",
    "/pricing/enterprise",
    "/blog/launch",
    "/blog/segments",
    "/docs/getting-started",
    "/docs/api",
    "/about",
];
const COUNTRIES: [&str; 8] = ["US", "CA", "GB", "DE", "FR", "BR", "IN", "JP"];
const PRODUCTS: [&str; 6] = ["sku-1", "sku-2", "sku-3", "sku-4", "sku-5", "sku-6"];

/// One generated event, kept small so that the CSV export can be written alongside.
struct Row {
    profile: u32,
    time: i64,
    call: CallType,
    name: Option<&'static str>,
    revenue: Option<Value>,
    path: Option<&'static str>,
}

fn event(i: u64, r: &Row) -> Event {
    let mut properties = Object::new();
    if let Some(v) = &r.revenue {
        properties.insert("revenue".into(), v.clone());
        properties.insert("currency".into(), json!("USD"));
    }
    if let Some(p) = r.path {
        properties.insert("path".into(), json!(p));
        properties.insert("url".into(), json!(format!("https://example.com{p}")));
    }
    if r.name == Some("Product Added") || r.name == Some("Product Viewed") {
        properties.insert("product_id".into(), json!(PRODUCTS[(i % 6) as usize]));
    }
    Event {
        message_id: format!("m{i:010}"),
        call: r.call,
        name: r.name.map(str::to_string),
        user_id: None,
        anonymous_id: None,
        previous_id: None,
        group_id: None,
        time: Timestamp(r.time),
        received_at: None,
        properties,
        traits: Object::new(),
        context: Object::new(),
        integrations: Object::new(),
    }
}

/// Generates about `events` events over `events / 20` profiles, feeding `sink` each profile
/// with its traits and events, so no more than one profile's events are in memory at once.
fn generate(events: u64, mut sink: impl FnMut(&Profile, &[Row])) {
    let mut rng = Pcg64Mcg::seed_from_u64(42);
    let profiles = (events / 20).max(1);
    let mut made = 0u64;
    for p in 0..profiles {
        let left = events.saturating_sub(made);
        let remaining_profiles = profiles - p;
        let avg = (left / remaining_profiles).max(1);
        let n = if p + 1 == profiles {
            left
        } else {
            rng.gen_range(1..=2 * avg - 1).min(left)
        };
        let mut traits = Object::new();
        let plan = match rng.gen_range(0..10) {
            0..=5 => "free",
            6..=8 => "pro",
            _ => "enterprise",
        };
        traits.insert("plan".into(), json!(plan));
        traits.insert("country".into(), json!(COUNTRIES[rng.gen_range(0..8)]));
        let age: u32 = rng.gen_range(18..76);
        let age = if rng.gen_range(0..10) == 0 {
            json!(age.to_string())
        } else {
            json!(age)
        };
        traits.insert("age".into(), age);
        let mut identifiers = BTreeMap::new();
        identifiers.insert(
            "anonymous_id".to_string(),
            BTreeSet::from([format!("a{p}")]),
        );
        if rng.gen_range(0..10) < 6 {
            identifiers.insert(
                "email".to_string(),
                BTreeSet::from([format!("u{p}@example.com")]),
            );
        }
        let start = NOW - rng.gen_range(0..90 * DAY);
        let span = (NOW - start).max(1);
        let rows: Vec<Row> = (0..n)
            .map(|_| {
                let time = start + rng.gen_range(0..span);
                let (call, name) = match rng.gen_range(0..100) {
                    0..=34 => (
                        CallType::Page,
                        Some("Docs").filter(|_| rng.gen_range(0..4) == 0),
                    ),
                    35..=49 => (CallType::Track, Some("Product Viewed")),
                    50..=59 => (CallType::Track, Some("Product Added")),
                    60..=65 => (CallType::Track, Some("Order Completed")),
                    66..=77 => (CallType::Track, Some("Email Opened")),
                    78..=82 => (CallType::Track, Some("Email Clicked")),
                    83..=84 => (CallType::Track, Some("Signed Up")),
                    85..=89 => (CallType::Identify, None),
                    _ => (CallType::Screen, Some("Home")),
                };
                let revenue = (name == Some("Order Completed")).then(|| {
                    let cents: u32 = rng.gen_range(1000..40000);
                    let v = f64::from(cents) / 100.0;
                    if rng.gen_range(0..10) == 0 {
                        json!(format!("{v}"))
                    } else {
                        json!(v)
                    }
                });
                let path = (call == CallType::Page).then(|| PATHS[rng.gen_range(0..8)]);
                Row {
                    profile: p as u32,
                    time,
                    call,
                    name,
                    revenue,
                    path,
                }
            })
            .collect();
        made += n;
        let profile = Profile {
            id: format!("p_{p:016x}"),
            identifiers,
            traits,
            event_count: n,
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
        };
        sink(&profile, &rows);
    }
}

fn build(events: u64) -> Store {
    let mut builder = StoreBuilder::new();
    let mut i = 0u64;
    generate(events, |profile, rows| {
        let events: Vec<Event> = rows
            .iter()
            .map(|r| {
                i += 1;
                event(i, r)
            })
            .collect();
        builder.add_profile(profile, &events);
    });
    builder.finish()
}

fn segments() -> Vec<(&'static str, Segment)> {
    SEGMENTS
        .iter()
        .map(|(name, text)| {
            let condition: Value = serde_json::from_str(text).expect("reference segment");
            let segment = Segment::parse(&json!({ "condition": condition }), &SavedSegments::new())
                .expect("reference segment is valid");
            (*name, segment)
        })
        .collect()
}

fn sizes() -> Vec<u64> {
    std::env::var("TESSERA_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000_000, 10_000_000])
}

fn report(store: &Store, built_in: std::time::Duration) {
    let m = store.memory_usage();
    eprintln!(
        "store: {} events, {} profiles, built in {:.1}s; per-event {:.1} B/event, dictionaries {:.1} MB, profiles {:.1} MB, snapshot {:.1} MB",
        m.events,
        m.profiles,
        built_in.as_secs_f64(),
        m.bytes_per_event(),
        m.dictionary_bytes as f64 / 1e6,
        m.profile_bytes as f64 / 1e6,
        store.to_bytes().len() as f64 / 1e6,
    );
}

fn export(dir: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut timings = Vec::new();
    for events in sizes() {
        let mut ev =
            std::io::BufWriter::new(std::fs::File::create(format!("{dir}/events_{events}.csv"))?);
        let mut pr = std::io::BufWriter::new(std::fs::File::create(format!(
            "{dir}/profiles_{events}.csv"
        ))?);
        writeln!(ev, "pid,ts,call,name,revenue,path")?;
        writeln!(pr, "pid,plan,country,age")?;
        let mut failed = None;
        generate(events, |profile, rows| {
            let p = rows.first().map_or(0, |r| r.profile);
            let t = &profile.traits;
            let text = |v: Option<&Value>| match v {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            let mut write = || -> std::io::Result<()> {
                writeln!(
                    pr,
                    "{p},{},{},{}",
                    text(t.get("plan")),
                    text(t.get("country")),
                    text(t.get("age"))
                )?;
                for r in rows {
                    writeln!(
                        ev,
                        "{},{},{},{},{},{}",
                        r.profile,
                        r.time,
                        r.call.as_str(),
                        r.name.unwrap_or(""),
                        text(r.revenue.as_ref()),
                        r.path.unwrap_or("")
                    )?;
                }
                Ok(())
            };
            if let Err(e) = write() {
                failed = Some(e);
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        ev.flush()?;
        pr.flush()?;
        let started = Instant::now();
        let store = build(events);
        report(&store, started.elapsed());
        for (name, segment) in segments() {
            let mut runs: Vec<f64> = (0..7)
                .map(|_| {
                    let t = Instant::now();
                    let r = store.evaluate(&segment, Timestamp(NOW));
                    black_box(&r);
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .collect();
            runs.sort_by(f64::total_cmp);
            let count = store.evaluate(&segment, Timestamp(NOW)).count();
            timings.push(json!({"events": events, "segment": name, "ms": runs[runs.len() / 2], "count": count}));
        }
        timings.push(json!({"events": events, "memory": {
            "bytes_per_event": store.memory_usage().bytes_per_event(),
            "dictionary_bytes": store.memory_usage().dictionary_bytes,
            "profile_bytes": store.memory_usage().profile_bytes}}));
    }
    std::fs::write(
        format!("{dir}/tessera_times.json"),
        serde_json::to_vec_pretty(&timings).map_err(std::io::Error::other)?,
    )
}

fn bench(c: &mut Criterion) {
    if let Ok(path) = std::env::var("TESSERA_BENCH_SNAPSHOT") {
        let started = Instant::now();
        let bytes = std::fs::read(&path).expect("TESSERA_BENCH_SNAPSHOT is readable");
        let store = Store::from_bytes(&bytes).expect("TESSERA_BENCH_SNAPSHOT is a snapshot");
        report(&store, started.elapsed());
        on_cpu(&store);
        bench_store(c, "segments_snapshot", &store);
        return;
    }
    for events in sizes() {
        let started = Instant::now();
        let store = build(events);
        report(&store, started.elapsed());
        on_cpu(&store);
        bench_store(c, &format!("segments_{events}"), &store);
    }
}

/// Mean on-CPU time of 30 runs per segment (`/proc/thread-self/schedstat`): on a shared machine
/// criterion's wall times also count the time other processes held the cores. (A mean, since
/// some kernels account CPU time in scheduler ticks.)
fn on_cpu(store: &Store) {
    let cpu_ms = || {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |ns| ns / 1e6)
    };
    for (name, segment) in segments() {
        const RUNS: u32 = 30;
        let start = cpu_ms();
        for _ in 0..RUNS {
            black_box(store.evaluate(&segment, Timestamp(NOW)));
        }
        eprintln!(
            "{name}: {:.1} ms on CPU (mean of {RUNS})",
            (cpu_ms() - start) / f64::from(RUNS)
        );
    }
}

fn bench_store(c: &mut Criterion, group_name: &str, store: &Store) {
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(500));
    group.measurement_time(std::time::Duration::from_secs(2));
    for (name, segment) in segments() {
        eprintln!(
            "{name}: {} members",
            store.evaluate(&segment, Timestamp(NOW)).count()
        );
        group.bench_with_input(BenchmarkId::from_parameter(name), &segment, |b, s| {
            b.iter(|| store.evaluate(s, Timestamp(NOW)))
        });
    }
    group.finish();
}

fn main() {
    if let Ok(dir) = std::env::var("TESSERA_BENCH_EXPORT") {
        if let Err(e) = export(&dir) {
            eprintln!("export failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
