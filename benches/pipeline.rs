//! The streaming batch path end to end on a generated NDJSON file, one thread: read + parse +
//! validate, dedup, resolve, store build, with peak memory (VmHWM).
//!
//! Two runs over the same file: the profiles pipeline (`tessera profiles`: parse + validate +
//! dedup + resolve, names and properties checked but not kept), then the store pipeline
//! (`tessera snapshot`: the same, keeping properties, then the store build).
//! `TESSERA_PIPELINE_RUNS=profiles` or `=store` runs one of them.
//!
//! `TESSERA_PIPELINE_FILE=/tmp/events.ndjson cargo bench --bench pipeline` (write the file
//! with `tessera gen --events N -o FILE`). Without the variable, 1,000,000 events are generated
//! into a temporary file first.
//!
//! The file is read as `tessera profiles` and `tessera snapshot` read it, through a 1 MiB
//! buffer whose lines the loader parses in place; `TESSERA_PIPELINE_BUFFER_KIB=N` sets another
//! size.

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

/// Seconds this thread has spent on a CPU (`/proc/thread-self/schedstat`): on a shared machine
/// wall time also counts the time other processes held the cores.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

/// Wall and CPU time since `(wall, cpu)`.
fn since(start: (Instant, f64)) -> (f64, f64) {
    (start.0.elapsed().as_secs_f64(), cpu_secs() - start.1)
}

fn now() -> (Instant, f64) {
    (Instant::now(), cpu_secs())
}

fn stage(label: &str, events: usize, (wall, cpu): (f64, f64)) {
    println!(
        "{label:<28} wall {wall:>7.2} s  cpu {cpu:>7.2} s {:>11.0} events/s (cpu)   VmHWM {:>6.0} MB",
        events as f64 / cpu,
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
    let runs = std::env::var("TESSERA_PIPELINE_RUNS").unwrap_or_default();
    if runs != "store" {
        println!("-- profiles pipeline (tessera profiles)");
        run(&path, bytes, false);
    }
    if runs != "profiles" {
        println!("-- store pipeline (tessera snapshot)");
        run(&path, bytes, true);
    }
}

/// Forgets the peak memory so far (`/proc/self/clear_refs`), so each run reports its own.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn run(path: &str, bytes: u64, keep_store: bool) {
    reset_peak_memory();
    let started = now();

    let t = now();
    let settings = IdentitySettings::default();
    let source = Source::File { derive_ids: false };
    let mut loader = if keep_store {
        Loader::new(&settings, source)
    } else {
        Loader::profiles_only(&settings, source)
    };
    let file = std::fs::File::open(path).expect("events file");
    let buffer_kib = std::env::var("TESSERA_PIPELINE_BUFFER_KIB")
        .ok()
        .and_then(|k| k.parse::<usize>().ok())
        .unwrap_or(1024);
    loader
        .read(BufReader::with_capacity(buffer_kib << 10, file))
        .expect("read events");
    let (wall, cpu) = since(t);
    let rejected = loader.rejected();
    println!(
        "{:<28} wall {wall:>7.2} s  cpu {cpu:>7.2} s {:>11.0} MiB/s (cpu)      VmHWM {:>6.0} MB   ({rejected} rejected)",
        "read + parse + validate",
        bytes as f64 / (1 << 20) as f64 / cpu,
        peak_memory_mb()
    );

    let t = now();
    let deduped = loader.dedup();
    let kept = deduped.len();
    stage("dedup (+ canonical sort)", kept, since(t));

    if !keep_store {
        let t = now();
        let profiles = deduped.resolve_profiles();
        stage("resolve (compact input)", kept, since(t));
        let resolved_at = since(started);
        let unresolved = profiles.unresolved();
        // What `tessera profiles` does next, less the JSON: every profile built, one at a time.
        let t = now();
        let mut identifiers = 0;
        for profile in profiles.iter() {
            identifiers += profile.identifiers.values().map(|v| v.len()).sum::<usize>();
        }
        stage("build each profile", kept, since(t));
        let (total, total_cpu) = since(started);
        println!(
            "end to end: cpu {:.2} s (wall {:.2} s) to resolved, {total_cpu:.2} s ({total:.2} s) with the profiles built; {kept} events ({} duplicates dropped), {} profiles ({identifiers} identifiers), {unresolved} unresolved; peak memory (VmHWM) {:.0} MB",
            resolved_at.1,
            resolved_at.0,
            profiles.duplicates,
            profiles.len(),
            peak_memory_mb()
        );
        return;
    }

    let t = now();
    let resolved = deduped.resolve();
    stage("resolve (compact input)", kept, since(t));
    let profiles = resolved.resolution.profiles.len();
    let unresolved = resolved.resolution.unresolved();
    let resolved_at = since(started);

    let t = now();
    let loaded = resolved.build_store();
    stage("store build", kept, since(t));

    let (total, total_cpu) = since(started);
    let memory = loaded.store.memory_usage();
    println!(
        "end to end: wall {total:.2} s, cpu {total_cpu:.2} s for {kept} events ({} duplicates dropped), {profiles} profiles, {unresolved} unresolved (to resolved: cpu {:.2} s); store {:.1} B/event; peak memory (VmHWM) {:.0} MB",
        loaded.duplicates,
        resolved_at.1,
        memory.bytes_per_event(),
        peak_memory_mb()
    );
}
