//! Suggestions over about a million events with the real segment store, as the CLI, the npm
//! package and the browser run them: prints the time to build the store, to summarize it, and
//! to find suggestions (every candidate evaluated by the store), once each. The store is read
//! back from its snapshot first, so the figures are those of a snapshot-loaded engine.
//!
//! `cargo bench --bench suggest` (set `SUGGEST_PROFILES` to change the size; default 54,000
//! profiles, about 18 events each). `SUGGEST_SNAPSHOT=FILE` runs on a snapshot instead (such as
//! the one bench/browser/suggest.mjs builds from `tessera gen --planted`), at its latest event.

#[path = "../tests/support/shop.rs"]
mod shop;

use std::time::Instant;

use tessera::segment::Store;
use tessera::suggest::{suggest, DataSummary, Goal, SuggestOptions};

fn main() {
    let (store, now) = match std::env::var("SUGGEST_SNAPSHOT") {
        Ok(path) => snapshot(&path),
        Err(_) => shop_store(),
    };
    println!(
        "store: {} events, {} profiles; now {now}",
        store.event_count(),
        store.profile_count()
    );

    let started = Instant::now();
    let summary = DataSummary::from_store(&store, now, 30, None);
    let summarized = started.elapsed();

    let options = SuggestOptions::new(
        Goal::parse("event:Order Completed").expect("goal"),
        "30d",
        now,
    )
    .expect("options");
    let started = Instant::now();
    let report = suggest(&store, &summary, &options).expect("suggest");
    let suggested = started.elapsed();

    println!("summary: {summarized:.2?}");
    println!(
        "suggest: {suggested:.2?} ({} candidates evaluated, {:.2?} per evaluation)",
        report.candidates,
        suggested / (report.candidates as u32 + 8).max(1)
    );
    println!("total (summary + suggest): {:.2?}", summarized + suggested);
    for s in &report.suggestions {
        println!("  {} ({} profiles)", s.explanation, s.size);
    }
    for a in &report.lifecycle {
        println!("  {}: {} profiles", a.kind, a.size);
    }
}

/// The shop of tests/support/shop.rs, through a snapshot and back.
fn shop_store() -> (Store, tessera::time::Timestamp) {
    let profiles = std::env::var("SUGGEST_PROFILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(54_000);
    let started = Instant::now();
    let data = shop::make(&shop::Plan {
        profiles,
        pricing_pattern: true,
        pro_pattern: false,
        seed: 42,
    });
    println!(
        "data: {} events, {} profiles, made in {:.2?}",
        data.events.len(),
        data.resolution.profiles.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let built = Store::build(&data.events, &data.resolution);
    let bytes = built.to_bytes();
    drop(built);
    let store = Store::from_bytes(&bytes).expect("snapshot");
    println!(
        "store: built, written and loaded in {:.2?} (snapshot {:.1} MB)",
        started.elapsed(),
        bytes.len() as f64 / 1e6
    );
    (store, shop::now())
}

/// A snapshot file, evaluated at its latest event.
fn snapshot(path: &str) -> (Store, tessera::time::Timestamp) {
    let started = Instant::now();
    let bytes = std::fs::read(path).expect("read the snapshot");
    let store = Store::from_bytes(&bytes).expect("snapshot");
    println!(
        "snapshot {path}: {:.1} MB, loaded in {:.2?}",
        bytes.len() as f64 / 1e6,
        started.elapsed()
    );
    let now = store.latest_event().expect("a snapshot with events");
    (store, now)
}
