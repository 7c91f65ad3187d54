//! Suggestions over about a million events: prints the time to summarize the data and the time to
//! find suggestions (every candidate evaluated by the engine), once each.
//!
//! `cargo bench --bench suggest` (set `SUGGEST_PROFILES` to change the size; default 50,000
//! profiles, about 20 events each).

#[path = "../tests/support/reference.rs"]
mod reference;
#[path = "../tests/support/shop.rs"]
mod shop;

use std::time::Instant;

use tessera::suggest::{suggest, DataSummary, Goal, SuggestOptions};

fn main() {
    let profiles = std::env::var("SUGGEST_PROFILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50_000);
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
    let now = shop::now();
    let source = reference::Reference::new(&data.events, &data.resolution);

    let started = Instant::now();
    let summary = DataSummary::build(&data.events, &data.resolution, now, 30, None);
    let summarized = started.elapsed();

    let options = SuggestOptions::new(
        Goal::parse("event:Order Completed").expect("goal"),
        "30d",
        now,
    )
    .expect("options");
    let started = Instant::now();
    let report = suggest(&source, &summary, &options).expect("suggest");
    let suggested = started.elapsed();

    println!("summary: {summarized:.2?}");
    println!(
        "suggest: {suggested:.2?} ({} candidates evaluated, {:.2?} per evaluation)",
        report.candidates,
        suggested / (report.candidates as u32 + 8).max(1)
    );
    for s in &report.suggestions {
        println!("  {} ({} profiles)", s.explanation, s.size);
    }
}
