//! NDJSON validation throughput (MB/s) on realistic analytics.js-style traffic.
//!
//! The message set is built here (not by `tessera::gen`) so the figure stays comparable as the
//! generator evolves: track/page/identify calls with `context.library`, `userAgent`, `ip`,
//! `page`, and properties, about 300–600 bytes each.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;
use tessera::ingest::{read_ndjson, validate_ndjson, Source};

const MESSAGES: usize = 20_000;

const PATHS: [&str; 6] = [
    "/",
    "/pricing",
    "/docs/getting-started",
    "/blog/edge-cdp",
    "/signup",
    "/account/billing",
];
const EVENTS: [&str; 5] = [
    "Product Viewed",
    "Order Completed",
    "Signed Up",
    "Button Clicked",
    "Checkout Started",
];
const AGENTS: [&str; 3] = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
];

fn message(rng: &mut Pcg64, i: usize) -> String {
    let user = rng.gen_range(0..5_000);
    let path = PATHS[rng.gen_range(0..PATHS.len())];
    let agent = AGENTS[rng.gen_range(0..AGENTS.len())];
    let ip = format!(
        "{}.{}.{}.{}",
        rng.gen_range(1..224),
        rng.gen_range(0..256),
        rng.gen_range(0..256),
        rng.gen_range(1..255)
    );
    let secs = 1_767_225_600 + i as i64 * 13;
    let time = tessera::Timestamp(secs * 1000 + rng.gen_range(0..1000));
    let ids = if rng.gen_bool(0.6) {
        format!(
            r#""userId":"user-{user}","anonymousId":"{:016x}""#,
            rng.gen::<u64>()
        )
    } else {
        format!(r#""anonymousId":"{:016x}""#, rng.gen::<u64>())
    };
    let context = format!(
        r#""context":{{"library":{{"name":"analytics.js","version":"5.2.1"}},"userAgent":"{agent}","ip":"{ip}","page":{{"path":"{path}","referrer":"https://www.google.com/","url":"https://shop.example.com{path}"}}}}"#
    );
    let head = format!(
        r#""messageId":"ajs-{:032x}","timestamp":"{time}""#,
        rng.gen::<u128>()
    );
    match rng.gen_range(0..10) {
        0..=4 => format!(
            r#"{{"type":"track","event":"{}",{ids},"properties":{{"product_id":"sku-{}","price":{}.99,"currency":"USD","quantity":{}}},{context},{head}}}"#,
            EVENTS[rng.gen_range(0..EVENTS.len())],
            rng.gen_range(1000..9999),
            rng.gen_range(1..500),
            rng.gen_range(1..5)
        ),
        5..=8 => format!(
            r#"{{"type":"page","name":"{path}",{ids},"properties":{{"path":"{path}","url":"https://shop.example.com{path}","title":"Tessera"}},{context},{head}}}"#
        ),
        _ => format!(
            r#"{{"type":"identify",{ids},"traits":{{"email":"user{user}@example.com","plan":"pro","logins":{}}},{context},{head}}}"#,
            rng.gen_range(1..100)
        ),
    }
}

fn corpus() -> Vec<u8> {
    let mut rng = Pcg64::seed_from_u64(7);
    let mut out = Vec::new();
    for i in 0..MESSAGES {
        out.extend_from_slice(message(&mut rng, i).as_bytes());
        out.push(b'\n');
    }
    out
}

fn bench(c: &mut Criterion) {
    let file = corpus();
    let source = Source::File { derive_ids: false };
    let valid = read_ndjson(&file[..], source).filter(Result::is_ok).count();
    assert_eq!(valid, MESSAGES, "the generated corpus must be valid");
    eprintln!(
        "corpus: {} messages, {} bytes, {} bytes per message on average",
        MESSAGES,
        file.len(),
        file.len() / MESSAGES
    );
    // For a CPU-time measurement of `tessera validate` on the same corpus (a shared machine
    // makes wall-clock figures pessimistic).
    if let Ok(path) = std::env::var("TESSERA_BENCH_CORPUS") {
        std::fs::write(&path, &file).expect("write the corpus");
    }
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.sample_size(20);
    // What `tessera validate` does: every check, objects not built.
    group.bench_function("ndjson", |b| {
        b.iter_batched(
            || (),
            |()| {
                validate_ndjson(&file[..], source)
                    .filter(Result::is_ok)
                    .count()
            },
            BatchSize::SmallInput,
        )
    });
    // Loading: the same checks, building every event in full.
    group.bench_function("ndjson_to_events", |b| {
        b.iter_batched(
            || (),
            |()| read_ndjson(&file[..], source).filter(Result::is_ok).count(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
