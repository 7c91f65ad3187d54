//! Webhook destinations: signed JSON batches, idempotency keys, resumable sync plans and the
//! retry policy. Pure: the edge sends the requests and reports back what was acknowledged.
//!
//! A sync compares what the destination is known to hold (the acknowledged membership, kept in
//! [`SyncState`]) with the audience now, and plans the batches that close the gap. Each batch
//! acknowledged moves the state forward; a sync that fails half-way leaves the state at the last
//! acknowledged batch, so the next plan sends exactly what was not acknowledged: nothing is lost
//! and nothing acknowledged is sent twice.

use std::collections::BTreeSet;

use hmac::{Hmac, Mac};
use rand::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ActivationError;
use crate::time::Timestamp;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Signature";
/// The idempotency header.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

type HmacSha256 = Hmac<Sha256>;

/// The body of one webhook request, serialized with keys in this order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WebhookBody<'a> {
    /// The audience (segment) id.
    pub audience: &'a str,
    /// The `now` the audience was evaluated at, RFC 3339.
    pub snapshot: String,
    /// Profiles that joined.
    pub added: &'a [Value],
    /// Profiles that left (mirror mode).
    pub removed: &'a [Value],
}

/// Serializes a webhook body.
pub fn webhook_body(
    audience: &str,
    snapshot: Timestamp,
    added: &[Value],
    removed: &[Value],
) -> Vec<u8> {
    let body = WebhookBody {
        audience,
        snapshot: snapshot.to_string(),
        added,
        removed,
    };
    // Serializing plain JSON values into memory cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The `X-Signature` value for a body: `sha256=` + lowercase hex HMAC-SHA256 with the secret.
pub fn sign(body: &[u8], secret: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable_hmac());
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    format!("sha256={}", hex(&tag))
}

fn unreachable_hmac() -> HmacSha256 {
    // HMAC takes keys of any length; this only satisfies the type.
    HmacSha256::new_from_slice(&[]).unwrap_or_else(|_| unreachable!("HMAC accepts any key"))
}

/// Checks an `X-Signature` header against the body, in constant time.
pub fn verify_signature(body: &[u8], secret: &[u8], header: &str) -> bool {
    let Some(hex_tag) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(tag) = unhex(hex_tag) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

/// The `Idempotency-Key` of batch `batch_index` of a sync: a SHA-256 over the destination,
/// audience, snapshot and index, so every retry of that batch carries the same key.
pub fn idempotency_key(
    destination: &str,
    audience: &str,
    snapshot: Timestamp,
    batch_index: u32,
) -> String {
    let mut h = Sha256::new();
    for part in [
        destination,
        audience,
        &snapshot.to_string(),
        &batch_index.to_string(),
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex(&h.finalize())[..32].to_owned()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Which changes a destination receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Only additions.
    Add,
    /// Additions and removals since the last acknowledged state.
    Mirror,
}

impl SyncMode {
    /// `add` or `mirror`.
    pub fn from_name(name: &str) -> Option<SyncMode> {
        match name {
            "add" => Some(SyncMode::Add),
            "mirror" => Some(SyncMode::Mirror),
            _ => None,
        }
    }
}

/// What a destination is known to hold: the profile ids of every acknowledged addition, minus
/// every acknowledged removal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    /// Acknowledged members, sorted.
    pub acknowledged: BTreeSet<String>,
}

impl SyncState {
    /// Records that the destination accepted `batch`.
    pub fn acknowledge(&mut self, batch: &SyncBatch) {
        for id in &batch.removed {
            self.acknowledged.remove(id);
        }
        for id in &batch.added {
            self.acknowledged.insert(id.clone());
        }
    }
}

/// One request of a sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncBatch {
    /// 0-based position in the plan.
    pub index: u32,
    /// Profile ids to add, sorted.
    pub added: Vec<String>,
    /// Profile ids to remove, sorted.
    pub removed: Vec<String>,
    /// The `Idempotency-Key` for this batch and all its retries.
    pub idempotency_key: String,
}

/// The batches a sync still has to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPlan {
    /// The destination id.
    pub destination: String,
    /// The audience id.
    pub audience: String,
    /// The `now` of the membership being synced.
    pub snapshot: Timestamp,
    /// The batches, in sending order: removals first (so a destination with a size cap never
    /// holds both the leaving and the joining members), then additions.
    pub batches: Vec<SyncBatch>,
}

/// Plans a sync of `current` (profile ids sorted in byte order, no repeats) to a destination
/// whose acknowledged state is `state`, in batches of at most `batch_size` ids.
///
/// Errors: `unsorted_input` (path `current[i]`), `invalid_batch_size` (0).
pub fn plan_sync(
    destination: &str,
    audience: &str,
    snapshot: Timestamp,
    state: &SyncState,
    current: &[String],
    mode: SyncMode,
    batch_size: usize,
) -> Result<SyncPlan, ActivationError> {
    if batch_size == 0 {
        return Err(ActivationError::new(
            "invalid_batch_size",
            "batch_size",
            "a batch holds at least one profile",
        ));
    }
    if let Some(i) = current.windows(2).position(|w| w[0] >= w[1]) {
        return Err(ActivationError::new(
            "unsorted_input",
            format!("current[{}]", i + 1),
            "profile ids must be sorted in byte order without repeats",
        ));
    }
    let mut added = Vec::new();
    let mut removed = Vec::new();
    let mut acked = state.acknowledged.iter().peekable();
    for id in current {
        while let Some(a) = acked.next_if(|a| *a < id) {
            removed.push(a.clone());
        }
        if acked.next_if(|a| *a == id).is_none() {
            added.push(id.clone());
        }
    }
    removed.extend(acked.cloned());
    if mode == SyncMode::Add {
        removed.clear();
    }
    let mut batches = Vec::new();
    let mut index = 0u32;
    for chunk in removed.chunks(batch_size) {
        batches.push(SyncBatch {
            index,
            added: Vec::new(),
            removed: chunk.to_vec(),
            idempotency_key: idempotency_key(destination, audience, snapshot, index),
        });
        index += 1;
    }
    for chunk in added.chunks(batch_size) {
        batches.push(SyncBatch {
            index,
            added: chunk.to_vec(),
            removed: Vec::new(),
            idempotency_key: idempotency_key(destination, audience, snapshot, index),
        });
        index += 1;
    }
    Ok(SyncPlan {
        destination: destination.to_owned(),
        audience: audience.to_owned(),
        snapshot,
        batches,
    })
}

/// What one delivery attempt gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// No HTTP answer (connection refused, reset, timeout).
    NetworkError,
    /// An HTTP answer.
    Response {
        /// The status code.
        status: u16,
        /// The `Retry-After` the server asked for, in milliseconds.
        retry_after_ms: Option<u64>,
    },
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// The destination took the batch (2xx): acknowledge it.
    Delivered,
    /// Try again after this many milliseconds, with the same body and idempotency key.
    RetryAfter(u64),
    /// Stop: a 4xx other than 429 (the request itself is wrong), another non-2xx status, or the
    /// attempts are used up. The batch stays unacknowledged, so the next sync resends it.
    GiveUp,
}

/// Exponential backoff with deterministic jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds (doubled each time).
    pub base_delay_ms: u64,
    /// The longest delay, in milliseconds.
    pub max_delay_ms: u64,
    /// Seed of the jitter: the same seed gives the same delays.
    pub seed: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay_ms: 1_000,
            max_delay_ms: 60_000,
            seed: 0,
        }
    }
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1 for the first) gave `outcome`.
    ///
    /// Retries network errors, 429 and 5xx; the delay is `base * 2^(attempt-1)` capped at the
    /// maximum, of which the upper half is jittered ("equal jitter"), and never shorter than a
    /// server's `Retry-After`.
    pub fn decide(&self, attempt: u32, outcome: Delivery) -> RetryDecision {
        let retryable = match outcome {
            Delivery::NetworkError => true,
            Delivery::Response { status, .. } if (200..300).contains(&status) => {
                return RetryDecision::Delivered
            }
            Delivery::Response { status, .. } => status == 429 || (500..600).contains(&status),
        };
        if !retryable || attempt >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let exp = attempt.saturating_sub(1).min(40);
        let full = self
            .base_delay_ms
            .saturating_mul(1u64 << exp)
            .min(self.max_delay_ms);
        let half = full / 2;
        let mut rng = rand_pcg::Pcg32::seed_from_u64(
            self.seed ^ u64::from(attempt).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let jitter = if half == 0 {
            0
        } else {
            rng.next_u64() % (half + 1)
        };
        let mut delay = full - half + jitter;
        if let Delivery::Response {
            retry_after_ms: Some(ra),
            ..
        } = outcome
        {
            delay = delay.max(ra);
        }
        RetryDecision::RetryAfter(delay)
    }
}
