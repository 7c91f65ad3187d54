//! Identity resolution throughput on generated traffic (`tessera::gen`).
//!
//! `cargo bench --bench identity` (set `TESSERA_BENCH_EVENTS`, default 2,000,000). Prints
//! events/s for the batch `resolve`, the incremental graph in delivery order, and the graph with
//! a random arrival order in edge-sized batches, plus peak memory (VmHWM).

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::Value;
use tessera::gen::{Generator, GeneratorConfig};
use tessera::identity::{resolve, IdentityGraph, IdentitySettings};
use tessera::{CallType, Event, Timestamp};

/// A lenient message-to-event conversion for well-formed generated lines; malformed lines are
/// skipped (parsing is measured by the ingestion benchmark, not here).
fn to_event(line: &str) -> Option<Event> {
    let m: Value = serde_json::from_str(line).ok()?;
    let text = |key: &str| match m.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let object = |key: &str| {
        m.get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let time = m
        .get("timestamp")
        .or_else(|| m.get("originalTimestamp"))
        .and_then(Value::as_str)
        .and_then(|t| Timestamp::parse(t).ok())?;
    Some(Event {
        message_id: text("messageId")?,
        call: CallType::from_name(m.get("type")?.as_str()?)?,
        name: text("event").or_else(|| text("name")),
        user_id: text("userId"),
        anonymous_id: text("anonymousId"),
        previous_id: text("previousId"),
        group_id: text("groupId"),
        time,
        received_at: None,
        properties: object("properties"),
        traits: object("traits"),
        context: object("context"),
        integrations: object("integrations"),
    })
}

fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn report(label: &str, n: usize, secs: f64) {
    println!(
        "{label:<44} {n:>10} events {secs:>8.3} s {:>12.0} events/s",
        n as f64 / secs
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let n: u64 = std::env::var("TESSERA_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let config = GeneratorConfig {
        events: n,
        seed: 42,
        ..GeneratorConfig::default()
    };
    let t = Instant::now();
    let events: Vec<Event> = Generator::new(config)
        .filter_map(|l| to_event(&l))
        .collect();
    println!(
        "generated and converted {} events in {:.1} s; memory with events loaded: {:.0} MB",
        events.len(),
        t.elapsed().as_secs_f64(),
        peak_memory_mb().unwrap_or(f64::NAN)
    );
    let settings = IdentitySettings::default();

    let mut best = f64::MAX;
    let mut summary = String::new();
    for _ in 0..3 {
        let t = Instant::now();
        let res = resolve(&events, &settings);
        best = best.min(t.elapsed().as_secs_f64());
        let merged = res
            .profiles
            .iter()
            .filter(|p| p.identifiers.len() > 1)
            .count();
        summary = format!(
            "{} profiles ({} with several identifier types), {} unresolved",
            res.profiles.len(),
            merged,
            res.unresolved()
        );
    }
    report("resolve (batch, best of 3)", events.len(), best);
    println!("  {summary}");
    let after_batch = peak_memory_mb().unwrap_or(f64::NAN);

    let t = Instant::now();
    let mut graph = IdentityGraph::new(&settings);
    for e in &events {
        graph.add(e);
    }
    let add_secs = t.elapsed().as_secs_f64();
    report(
        "graph.add one by one, delivery order",
        events.len(),
        add_secs,
    );
    let t = Instant::now();
    let profiles = graph.resolution().profiles.len();
    println!(
        "  graph.resolution(): {profiles} profiles in {:.3} s",
        t.elapsed().as_secs_f64()
    );
    drop(graph);

    let mut shuffled: Vec<&Event> = events.iter().collect();
    shuffled.shuffle(&mut rand_pcg::Pcg64Mcg::seed_from_u64(7));
    let shuffled: Vec<Event> = shuffled.into_iter().cloned().collect();
    let t = Instant::now();
    let mut graph = IdentityGraph::new(&settings);
    for chunk in shuffled.chunks(100) {
        graph.add_batch(chunk);
    }
    report(
        "graph.add_batch(100), random arrival order",
        events.len(),
        t.elapsed().as_secs_f64(),
    );
    let same = graph.resolution().profiles == resolve(&events, &settings).profiles;
    println!("  equals the batch answer: {same}");
    drop(graph);

    let sample = &shuffled[..shuffled.len().min(200_000)];
    let t = Instant::now();
    let mut graph = IdentityGraph::new(&settings);
    for e in sample {
        graph.add(e);
    }
    report(
        "graph.add one by one, random arrival order",
        sample.len(),
        t.elapsed().as_secs_f64(),
    );
    println!(
        "peak memory (VmHWM): {:.0} MB (after the batch runs: {after_batch:.0} MB)",
        peak_memory_mb().unwrap_or(f64::NAN)
    );
}
