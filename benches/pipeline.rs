//! The streaming batch path end to end on a generated NDJSON file, one thread: read + parse +
//! validate, dedup, resolve, store build, with peak memory (VmHWM).
//!
//! `TESSERA_PIPELINE_FILE=/tmp/events.ndjson cargo bench --bench pipeline` (write the file
//! with `tessera gen --events N -o FILE`). Without the variable, 1,000,000 events are generated
//! into a temporary file first.

use std::io::BufReader;
use std::time::Instant;

use tessera::gen::{Generator, GeneratorConfig};
use tessera::identity::IdentitySettings;
use tessera::ingest::Source;
use tessera::pipeline::Loader;

fn peak_memory_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn stage(label: &str, events: usize, secs: f64) {
    println!(
        "{label:<34} {secs:>8.2} s {:>12.0} events/s   VmHWM {:>7.0} MB",
        events as f64 / secs,
        peak_memory_mb()
    );
}

fn main() {
    let path = match std::env::var("TESSERA_PIPELINE_FILE") {
        Ok(p) => p,
        Err(_) => {
            let p = std::env::temp_dir().join("tessera_pipeline_bench.ndjson");
            let file = std::fs::File::create(&p).expect("temporary file");
            Generator::new(GeneratorConfig {
                events: 1_000_000,
                seed: 1,
                ..GeneratorConfig::default()
            })
            .write_to(std::io::BufWriter::new(file))
            .expect("write events");
            p.to_string_lossy().into_owned()
        }
    };
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!("{path}: {:.0} MB", bytes as f64 / 1e6);
    let started = Instant::now();

    let t = Instant::now();
    let mut loader = Loader::new(
        &IdentitySettings::default(),
        Source::File { derive_ids: false },
    );
    let file = std::fs::File::open(&path).expect("events file");
    loader
        .read(BufReader::with_capacity(1 << 20, file))
        .expect("read events");
    let read = t.elapsed().as_secs_f64();
    let rejected = loader.rejected();
    println!(
        "{:<34} {read:>8.2} s {:>9.0} MiB/s   VmHWM {:>7.0} MB   ({rejected} rejected)",
        "read + parse + validate",
        bytes as f64 / (1 << 20) as f64 / read,
        peak_memory_mb()
    );

    let t = Instant::now();
    let deduped = loader.dedup();
    let kept = deduped.len();
    stage("dedup (+ canonical sort)", kept, t.elapsed().as_secs_f64());

    let t = Instant::now();
    let resolved = deduped.resolve();
    stage("resolve (compact input)", kept, t.elapsed().as_secs_f64());
    let profiles = resolved.resolution.profiles.len();

    let t = Instant::now();
    let loaded = resolved.build_store();
    stage("store build", kept, t.elapsed().as_secs_f64());

    let total = started.elapsed().as_secs_f64();
    let memory = loaded.store.memory_usage();
    println!(
        "end to end: {total:.2} s for {kept} events ({} duplicates dropped), {profiles} profiles, {} unresolved; store {:.1} B/event; peak memory (VmHWM) {:.0} MB",
        loaded.duplicates,
        loaded.resolution.unresolved(),
        memory.bytes_per_event(),
        peak_memory_mb()
    );
}
