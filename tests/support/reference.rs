//! A small, independent evaluator of the conditions suggestions use, written straight from
//! `segments.md`, so the suggester can be checked against an evaluator that shares no code with
//! it. It answers `unknown_condition` for forms it does not know.

use serde_json::Value;
use tessera::event::{CallType, Event};
use tessera::identity::Resolution;
use tessera::suggest::{AudienceSource, SourceError};
use tessera::time::{Duration, Timestamp};

/// Events grouped by profile, with the profiles' traits and identifiers.
pub struct Reference<'a> {
    resolution: &'a Resolution,
    by_profile: Vec<Vec<&'a Event>>,
}

impl<'a> Reference<'a> {
    pub fn new(events: &'a [Event], resolution: &'a Resolution) -> Reference<'a> {
        let mut by_profile = vec![Vec::new(); resolution.profiles.len()];
        for (e, p) in events.iter().zip(&resolution.event_profile) {
            if let Some(p) = p {
                by_profile[*p as usize].push(e);
            }
        }
        Reference {
            resolution,
            by_profile,
        }
    }

    fn holds(&self, p: usize, c: &Value, now: i64) -> Result<bool, SourceError> {
        let err = |code: &str| SourceError {
            code: code.into(),
            path: "condition".into(),
        };
        let obj = c.as_object().ok_or_else(|| err("wrong_type"))?;
        if let Some(all) = obj.get("and").and_then(Value::as_array) {
            for x in all {
                if !self.holds(p, x, now)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        if let Some(any) = obj.get("or").and_then(Value::as_array) {
            for x in any {
                if self.holds(p, x, now)? {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        if let Some(inner) = obj.get("not") {
            return Ok(!self.holds(p, inner, now)?);
        }
        if let Some(path) = obj.get("trait").and_then(Value::as_str) {
            let traits = &self.resolution.profiles[p].traits;
            let mut parts = path.split('.');
            let mut v = parts.next().and_then(|k| traits.get(k));
            for part in parts {
                v = v.and_then(|x| x.get(part));
            }
            let v = v.filter(|x| !x.is_null());
            let op = obj.get("op").and_then(Value::as_str).unwrap_or_default();
            return compare(v, op, obj.get("value").unwrap_or(&Value::Null))
                .ok_or_else(|| err("unknown_operator"));
        }
        if let Some(kind) = obj.get("has_identifier").and_then(Value::as_str) {
            return Ok(self.resolution.profiles[p]
                .identifiers
                .get(kind)
                .is_some_and(|s| !s.is_empty()));
        }
        for (key, first) in [("first_seen", true), ("last_seen", false)] {
            if let Some(bounds) = obj.get(key).and_then(Value::as_object) {
                let times = self.by_profile[p]
                    .iter()
                    .map(|e| e.time.0)
                    .filter(|&t| t <= now);
                let seen = if first { times.min() } else { times.max() };
                let Some(seen) = seen else { return Ok(false) };
                for (op, d) in bounds {
                    let ago = Duration::parse(d.as_str().unwrap_or_default())
                        .map_err(|_| err("bad_duration"))?;
                    let edge = now - ago.millis;
                    let ok = match op.as_str() {
                        "before" => seen < edge,
                        "after" => seen > edge,
                        _ => return Err(err("unknown_operator")),
                    };
                    if !ok {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
        }
        if let Some(name) = obj.get("event").and_then(Value::as_str) {
            let call = match obj.get("call").and_then(Value::as_str).unwrap_or("track") {
                "track" => CallType::Track,
                "page" => CallType::Page,
                "screen" => CallType::Screen,
                _ => return Err(err("unknown_operator")),
            };
            let from = match obj.get("within").and_then(Value::as_str) {
                Some(w) => now - Duration::parse(w).map_err(|_| err("bad_duration"))?.millis,
                None => i64::MIN,
            };
            let filters = obj
                .get("where")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut matching: Vec<&&Event> = Vec::new();
            'events: for e in &self.by_profile[p] {
                if e.call != call || e.time.0 > now || e.time.0 < from {
                    continue;
                }
                if name != "*" && e.name.as_deref() != Some(name) {
                    continue;
                }
                for f in &filters {
                    let prop = f["property"].as_str().unwrap_or_default();
                    let v = e.properties.get(prop).filter(|x| !x.is_null());
                    let op = f["op"].as_str().unwrap_or_default();
                    if !compare(v, op, &f["value"]).ok_or_else(|| err("unknown_operator"))? {
                        continue 'events;
                    }
                }
                matching.push(e);
            }
            let mut sorted = matching.clone();
            sorted.sort_by(|a, b| (a.time, &a.message_id).cmp(&(b.time, &b.message_id)));
            if let Some(sum) = obj.get("sum") {
                let prop = sum["property"].as_str().unwrap_or_default();
                let total: f64 = sorted
                    .iter()
                    .filter_map(|e| number(e.properties.get(prop)?))
                    .sum();
                return check_aggregate(total, sum).ok_or_else(|| err("unknown_operator"));
            }
            let count = obj
                .get("count")
                .cloned()
                .unwrap_or(serde_json::json!({"gte": 1}));
            return check_aggregate(matching.len() as f64, &count)
                .ok_or_else(|| err("unknown_operator"));
        }
        Err(err("unknown_condition"))
    }
}

impl AudienceSource for Reference<'_> {
    fn profile_count(&self) -> usize {
        self.resolution.profiles.len()
    }

    fn evaluate(&self, condition: &Value, now: Timestamp) -> Result<Vec<u32>, SourceError> {
        let mut out = Vec::new();
        for p in 0..self.by_profile.len() {
            if self.holds(p, condition, now.0)? {
                out.push(p as u32);
            }
        }
        Ok(out)
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let body = s.strip_prefix('-').unwrap_or(s);
            let ok = body.split_once('.').map_or(
                !body.is_empty() && body.bytes().all(|c| c.is_ascii_digit()),
                |(i, f)| {
                    !i.is_empty()
                        && !f.is_empty()
                        && i.bytes().all(|c| c.is_ascii_digit())
                        && f.bytes().all(|c| c.is_ascii_digit())
                },
            );
            ok.then(|| s.parse().ok()).flatten()
        }
        _ => None,
    }
}

fn check_aggregate(x: f64, spec: &Value) -> Option<bool> {
    let mut all = true;
    for (op, v) in spec.as_object()? {
        if op == "property" {
            continue;
        }
        let v = v.as_f64()?;
        all &= match op.as_str() {
            "gte" => x >= v,
            "gt" => x > v,
            "lte" => x <= v,
            "lt" => x < v,
            "eq" => x == v,
            _ => return None,
        };
    }
    Some(all)
}

fn compare(v: Option<&Value>, op: &str, want: &Value) -> Option<bool> {
    Some(match op {
        "exists" => v.is_some(),
        "eq" => v.is_some_and(|v| equal(v, want)),
        "starts_with" => v
            .and_then(Value::as_str)
            .zip(want.as_str())
            .is_some_and(|(s, w)| s.starts_with(w)),
        "gte" | "gt" | "lt" | "lte" => {
            let (Some(x), Some(w)) = (v.and_then(number), want.as_f64()) else {
                return Some(false);
            };
            match op {
                "gte" => x >= w,
                "gt" => x > w,
                "lt" => x < w,
                _ => x <= w,
            }
        }
        _ => return None,
    })
}

fn equal(v: &Value, want: &Value) -> bool {
    match want {
        Value::String(w) => v.as_str() == Some(w),
        Value::Number(w) => number(v) == w.as_f64(),
        Value::Bool(w) => v.as_bool() == Some(*w),
        _ => false,
    }
}
