//! Meta (Facebook) Custom Audiences: per-key normalization, SHA-256 hashing and the upload
//! payloads of at most 10,000 rows.
//!
//! One row per profile. Each key takes the first value in byte order of its source (Meta accepts
//! several keys per row, and one row per person keeps `estimated_num_total` honest). The sources:
//!
//! | key | from |
//! |---|---|
//! | EMAIL | `email` identifiers, else `traits.email` |
//! | PHONE | `phone` identifiers, else `traits.phone` (the profile's country supplies a missing country code) |
//! | FN / LN | `traits.first_name` / `firstName` (`last_name` / `lastName`), else the first word / the rest of `traits.name` |
//! | FI | the first letter of the FN source |
//! | GEN | `traits.gender` |
//! | DOBY / DOBM / DOBD | `traits.birthday` (`YYYY-MM-DD…`), else `traits.dob`; or `birth_year` / `birth_month` / `birth_day` |
//! | CT / ST / ZIP / COUNTRY | `traits.city` / `state` / `zip` (or `postal_code`, `postalCode`) / `country`, else the same keys under `traits.address` |
//! | EXTERN_ID | `user_id` identifiers |
//! | MADID | `madid` identifiers, else `traits.advertising_id` / `advertisingId` |
//!
//! A value that normalizes to nothing gives an empty cell (Meta treats it as unknown); a profile
//! whose cells are all empty is left out of the upload.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{ActivationError, ProfileRecord};

/// The most rows one request may carry.
pub const MAX_ROWS_PER_BATCH: usize = 10_000;

/// A Custom Audiences schema key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetaKey {
    /// Email address.
    Email,
    /// Phone number with country code.
    Phone,
    /// First name.
    Fn,
    /// Last name.
    Ln,
    /// First initial.
    Fi,
    /// Gender (`m`/`f`).
    Gen,
    /// Year of birth.
    Doby,
    /// Month of birth.
    Dobm,
    /// Day of birth.
    Dobd,
    /// City.
    Ct,
    /// State or province.
    St,
    /// Postal code.
    Zip,
    /// Country (ISO 3166-1 alpha-2).
    Country,
    /// The advertiser's own id (not hashed).
    ExternId,
    /// Mobile advertiser id (not hashed).
    Madid,
}

impl MetaKey {
    /// Every key, in the order of the contract's table.
    pub const ALL: [MetaKey; 15] = [
        MetaKey::Email,
        MetaKey::Phone,
        MetaKey::Fn,
        MetaKey::Ln,
        MetaKey::Fi,
        MetaKey::Gen,
        MetaKey::Doby,
        MetaKey::Dobm,
        MetaKey::Dobd,
        MetaKey::Ct,
        MetaKey::St,
        MetaKey::Zip,
        MetaKey::Country,
        MetaKey::ExternId,
        MetaKey::Madid,
    ];

    /// The name Meta uses (`EMAIL`, `DOBY`, ...).
    pub fn name(self) -> &'static str {
        match self {
            MetaKey::Email => "EMAIL",
            MetaKey::Phone => "PHONE",
            MetaKey::Fn => "FN",
            MetaKey::Ln => "LN",
            MetaKey::Fi => "FI",
            MetaKey::Gen => "GEN",
            MetaKey::Doby => "DOBY",
            MetaKey::Dobm => "DOBM",
            MetaKey::Dobd => "DOBD",
            MetaKey::Ct => "CT",
            MetaKey::St => "ST",
            MetaKey::Zip => "ZIP",
            MetaKey::Country => "COUNTRY",
            MetaKey::ExternId => "EXTERN_ID",
            MetaKey::Madid => "MADID",
        }
    }

    /// The key with that name (exact, uppercase).
    pub fn from_name(name: &str) -> Option<MetaKey> {
        MetaKey::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether values of this key are sent as SHA-256 (all but EXTERN_ID and MADID).
    pub fn is_hashed(self) -> bool {
        !matches!(self, MetaKey::ExternId | MetaKey::Madid)
    }
}

/// An upload schema: the keys of every row, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaSchema {
    keys: Vec<MetaKey>,
}

impl MetaSchema {
    /// Parses `EMAIL,PHONE,FN`. Errors: `empty_schema`, `unknown_meta_key`, `duplicate_meta_key`
    /// (path `schema[i]`).
    pub fn parse(text: &str) -> Result<MetaSchema, ActivationError> {
        if text.trim().is_empty() {
            return Err(ActivationError::new(
                "empty_schema",
                "schema",
                "the schema names no key",
            ));
        }
        let mut keys = Vec::new();
        for (i, raw) in text.split(',').enumerate() {
            let name = raw.trim();
            let key = MetaKey::from_name(name).ok_or_else(|| {
                ActivationError::new(
                    "unknown_meta_key",
                    format!("schema[{i}]"),
                    format!("`{name}` is not a Custom Audiences key (EMAIL, PHONE, FN, LN, FI, GEN, DOBY, DOBM, DOBD, CT, ST, ZIP, COUNTRY, EXTERN_ID, MADID)"),
                )
            })?;
            if keys.contains(&key) {
                return Err(ActivationError::new(
                    "duplicate_meta_key",
                    format!("schema[{i}]"),
                    format!("`{name}` appears twice"),
                ));
            }
            keys.push(key);
        }
        Ok(MetaSchema { keys })
    }

    /// The keys, in order.
    pub fn keys(&self) -> &[MetaKey] {
        &self.keys
    }
}

/// Lowercase hex SHA-256 of the UTF-8 text.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `text` is 64 lowercase hex digits, i.e. already a SHA-256.
pub fn is_hashed(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Normalizes a raw value for `key` per the contract's table; `None` when nothing is left.
/// `country` (any form [`normalize_country`] takes) helps PHONE (a missing country code), ST
/// (US state names) and ZIP (US ZIP+4).
pub fn normalize(key: MetaKey, raw: &str, country: Option<&str>) -> Option<String> {
    normalize_in(key, raw, country.and_then(normalize_country).as_deref())
}

/// [`normalize`] with the country already normalized (`us`), as a row computes it once.
fn normalize_in(key: MetaKey, raw: &str, country: Option<&str>) -> Option<String> {
    let out = match key {
        MetaKey::Email => raw.trim().to_lowercase(),
        MetaKey::Phone => normalize_phone(raw, country),
        MetaKey::Fn | MetaKey::Ln => normalize_name(raw),
        MetaKey::Fi => normalize_name(raw)
            .chars()
            .next()
            .map(String::from)
            .unwrap_or_default(),
        MetaKey::Gen => match raw.trim().chars().next().map(|c| c.to_ascii_lowercase()) {
            Some(c @ ('m' | 'f')) => c.to_string(),
            _ => String::new(),
        },
        MetaKey::Doby => date_part(raw, 4, 1000, 9999),
        MetaKey::Dobm => date_part(raw, 2, 1, 12),
        MetaKey::Dobd => date_part(raw, 2, 1, 31),
        MetaKey::Ct => raw
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphabetic())
            .collect(),
        MetaKey::St => normalize_state(raw, country),
        MetaKey::Zip => normalize_zip(raw, country),
        MetaKey::Country => normalize_country(raw).unwrap_or_default(),
        MetaKey::ExternId => raw.trim().to_owned(),
        MetaKey::Madid => raw.trim().to_lowercase(),
    };
    (!out.is_empty()).then_some(out)
}

/// The cell Meta receives for a raw value: normalized then SHA-256 (lowercase hex), or the
/// normalized text for EXTERN_ID and MADID; a value already 64 lowercase hex digits (after
/// trimming) passes through for hashed keys; empty when nothing is left.
pub fn cell(key: MetaKey, raw: &str, country: Option<&str>) -> String {
    cell_in(key, raw, country.and_then(normalize_country).as_deref())
}

fn cell_in(key: MetaKey, raw: &str, country: Option<&str>) -> String {
    if key.is_hashed() && is_hashed(raw.trim()) {
        return raw.trim().to_owned();
    }
    match normalize_in(key, raw, country) {
        None => String::new(),
        Some(v) if key.is_hashed() => sha256_hex(&v),
        Some(v) => v,
    }
}

fn normalize_name(raw: &str) -> String {
    // Letters (any script, with their combining marks) and single inner spaces survive;
    // punctuation, digits and symbols go: `O'Brien` → `obrien`, `Jean-Luc` → `jeanluc`.
    let mut out = String::new();
    let mut space = false;
    for c in raw.trim().chars() {
        if c.is_alphabetic() || is_combining_mark(c) {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            space = true;
        }
    }
    out
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
}

fn date_part(raw: &str, width: usize, min: u32, max: u32) -> String {
    let t = raw.trim();
    if t.is_empty() || t.len() > 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return String::new();
    }
    match t.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => format!("{n:0width$}"),
        _ => String::new(),
    }
}

fn normalize_phone(raw: &str, country: Option<&str>) -> String {
    let t = raw.trim();
    let international = t.starts_with('+');
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    if international || digits.starts_with("00") {
        return digits.trim_start_matches('0').to_owned();
    }
    let Some(dial) = country.and_then(dial_code) else {
        return digits.trim_start_matches('0').to_owned();
    };
    if dial == "1" {
        // North America: 10 national digits; 11 starting with 1 already carry the code.
        return match digits.len() {
            10 => format!("1{digits}"),
            _ => digits.trim_start_matches('0').to_owned(),
        };
    }
    if let Some(national) = digits.strip_prefix('0') {
        // A national trunk prefix: `020 7946 0958` in GB is `44 20 7946 0958`.
        let national = national.trim_start_matches('0');
        if national.is_empty() {
            return String::new();
        }
        return format!("{dial}{national}");
    }
    if digits.is_empty() {
        return digits;
    }
    format!("{dial}{digits}")
}

fn normalize_state(raw: &str, country: Option<&str>) -> String {
    let compact: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    if matches!(country, None | Some("us")) {
        if let Some((code, _)) = US_STATES
            .iter()
            .find(|(code, name)| compact == *code || compact == *name)
        {
            return (*code).to_owned();
        }
    }
    compact
}

fn normalize_zip(raw: &str, country: Option<&str>) -> String {
    let compact: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let b = compact.as_bytes();
    let us_shaped = b.len() >= 5
        && b[..5].iter().all(u8::is_ascii_digit)
        && (b.len() == 5
            || (b.len() == 10 && b[5] == b'-' && b[6..].iter().all(u8::is_ascii_digit)));
    if country == Some("us") || (country.is_none() && us_shaped) {
        if us_shaped {
            return compact[..5].to_owned();
        }
        let digits: String = compact
            .chars()
            .filter(char::is_ascii_digit)
            .take(5)
            .collect();
        return digits;
    }
    compact
}

/// Lowercase ISO 3166-1 alpha-2 for a country code (alpha-2 or alpha-3, any case) or a common
/// English or native name; `None` when unknown.
pub fn normalize_country(raw: &str) -> Option<String> {
    let t = raw.trim().to_lowercase();
    let t = t.trim_matches('.');
    if t.len() == 2 && is_iso_alpha2(t.as_bytes()) {
        return Some(t.to_owned());
    }
    let words: String = t.chars().filter(|c| c.is_alphabetic()).collect();
    if words.is_empty() {
        return None;
    }
    COUNTRIES
        .iter()
        .find(|(_, alpha3, names)| {
            words == *alpha3
                || names
                    .split('|')
                    .any(|n| n.replace([' ', '-', '.', '\''], "") == words)
        })
        .map(|(code, ..)| (*code).to_owned())
}

fn is_iso_alpha2(code: &[u8]) -> bool {
    // The table is sorted codes of 2 letters, 3 bytes apart: a binary search over slots.
    let table = ISO_ALPHA2.as_bytes();
    let slots = table.len().div_ceil(3);
    let (mut lo, mut hi) = (0, slots);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match table[mid * 3..mid * 3 + 2].cmp(code) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
        }
    }
    false
}

fn dial_code(country: &str) -> Option<&'static str> {
    DIAL_CODES
        .iter()
        .find(|(c, _)| *c == country)
        .map(|(_, d)| *d)
}

/// One upload request body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetaPayload {
    /// The schema and rows.
    pub payload: MetaData,
    /// The upload session.
    pub session: MetaSession,
}

/// The `payload` part of a request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetaData {
    /// Key names, in row order.
    pub schema: Vec<&'static str>,
    /// Rows of cells.
    pub data: Vec<Vec<String>>,
}

/// The `session` part of a request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetaSession {
    /// The same for every batch of one upload.
    pub session_id: u64,
    /// 1-based position of this batch.
    pub batch_seq: u32,
    /// True on the last batch.
    pub last_batch_flag: bool,
    /// How many rows the whole upload is expected to hold.
    pub estimated_num_total: u64,
}

/// The row Meta receives for one profile; `None` when every cell is empty.
pub fn profile_row(schema: &MetaSchema, profile: &impl ProfileRecord) -> Option<Vec<String>> {
    let country =
        first_text(profile, &["country", "address.country"]).and_then(|c| normalize_country(&c));
    let row: Vec<String> = schema
        .keys
        .iter()
        .map(|&key| match source_value(key, profile) {
            Some(raw) => cell_in(key, &raw, country.as_deref()),
            None => String::new(),
        })
        .collect();
    row.iter().any(|c| !c.is_empty()).then_some(row)
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn first_text(profile: &impl ProfileRecord, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| {
        profile
            .trait_at(p)
            .and_then(text_of)
            .filter(|s| !s.trim().is_empty())
    })
}

fn first_identifier(profile: &impl ProfileRecord, kind: &str) -> Option<String> {
    profile.identifier_values(kind).next().map(str::to_owned)
}

fn name_parts(profile: &impl ProfileRecord) -> (Option<String>, Option<String>) {
    let full = first_text(profile, &["name"]);
    let mut words = full.as_deref().unwrap_or("").split_whitespace();
    let first = words.next().map(str::to_owned);
    let rest: Vec<&str> = words.collect();
    let last = (!rest.is_empty()).then(|| rest.join(" "));
    (first, last)
}

fn source_value(key: MetaKey, p: &impl ProfileRecord) -> Option<String> {
    match key {
        MetaKey::Email => first_identifier(p, "email").or_else(|| first_text(p, &["email"])),
        MetaKey::Phone => first_identifier(p, "phone").or_else(|| first_text(p, &["phone"])),
        MetaKey::Fn | MetaKey::Fi => {
            first_text(p, &["first_name", "firstName"]).or_else(|| name_parts(p).0)
        }
        MetaKey::Ln => first_text(p, &["last_name", "lastName"]).or_else(|| name_parts(p).1),
        MetaKey::Gen => first_text(p, &["gender"]),
        MetaKey::Doby | MetaKey::Dobm | MetaKey::Dobd => {
            let (field, range) = match key {
                MetaKey::Doby => ("birth_year", 0..4),
                MetaKey::Dobm => ("birth_month", 5..7),
                _ => ("birth_day", 8..10),
            };
            first_text(p, &["birthday", "dob", "date_of_birth"])
                .and_then(|d| {
                    let b = d.trim().as_bytes();
                    let iso = b.len() >= 10 && b[4] == b'-' && b[7] == b'-';
                    iso.then(|| d.trim()[range].to_owned())
                })
                .or_else(|| first_text(p, &[field]))
        }
        MetaKey::Ct => first_text(p, &["city", "address.city"]),
        MetaKey::St => first_text(p, &["state", "address.state"]),
        MetaKey::Zip => first_text(
            p,
            &[
                "zip",
                "postal_code",
                "postalCode",
                "address.postal_code",
                "address.postalCode",
                "address.zip",
            ],
        ),
        MetaKey::Country => first_text(p, &["country", "address.country"]),
        MetaKey::ExternId => first_identifier(p, "user_id"),
        MetaKey::Madid => first_identifier(p, "madid")
            .or_else(|| first_text(p, &["advertising_id", "advertisingId"])),
    }
}

/// Streams the upload payloads for a sequence of profiles: at most [`MAX_ROWS_PER_BATCH`] rows
/// each, `batch_seq` from 1, `last_batch_flag` on the last one (found by looking one row ahead).
/// No profiles with data, no payloads.
pub struct MetaBatches<I> {
    schema: MetaSchema,
    profiles: I,
    session_id: u64,
    estimated_num_total: u64,
    batch_size: usize,
    next_seq: u32,
    lookahead: Option<Vec<String>>,
    done: bool,
}

impl<I> MetaBatches<I> {
    /// Batches for `profiles` in one upload session.
    pub fn new(schema: MetaSchema, profiles: I, session_id: u64, estimated_num_total: u64) -> Self {
        MetaBatches {
            schema,
            profiles,
            session_id,
            estimated_num_total,
            batch_size: MAX_ROWS_PER_BATCH,
            next_seq: 1,
            lookahead: None,
            done: false,
        }
    }
}

impl<'p, P, I> Iterator for MetaBatches<I>
where
    P: ProfileRecord + 'p,
    I: Iterator<Item = &'p P>,
{
    type Item = MetaPayload;

    fn next(&mut self) -> Option<MetaPayload> {
        if self.done {
            return None;
        }
        let mut data = Vec::with_capacity(self.batch_size.min(1024));
        if let Some(row) = self.lookahead.take() {
            data.push(row);
        }
        let schema = &self.schema;
        let mut rows = self
            .profiles
            .by_ref()
            .filter_map(|p| profile_row(schema, p));
        while data.len() < self.batch_size {
            match rows.next() {
                Some(row) => data.push(row),
                None => break,
            }
        }
        self.lookahead = rows.next();
        if data.is_empty() {
            self.done = true;
            return None;
        }
        let last = self.lookahead.is_none();
        self.done = last;
        let batch_seq = self.next_seq;
        self.next_seq += 1;
        Some(MetaPayload {
            payload: MetaData {
                schema: self.schema.keys.iter().map(|k| k.name()).collect(),
                data,
            },
            session: MetaSession {
                session_id: self.session_id,
                batch_seq,
                last_batch_flag: last,
                estimated_num_total: self.estimated_num_total,
            },
        })
    }
}

/// US states, DC and territories: (code, lowercase name without spaces).
const US_STATES: &[(&str, &str)] = &[
    ("al", "alabama"),
    ("ak", "alaska"),
    ("az", "arizona"),
    ("ar", "arkansas"),
    ("ca", "california"),
    ("co", "colorado"),
    ("ct", "connecticut"),
    ("de", "delaware"),
    ("fl", "florida"),
    ("ga", "georgia"),
    ("hi", "hawaii"),
    ("id", "idaho"),
    ("il", "illinois"),
    ("in", "indiana"),
    ("ia", "iowa"),
    ("ks", "kansas"),
    ("ky", "kentucky"),
    ("la", "louisiana"),
    ("me", "maine"),
    ("md", "maryland"),
    ("ma", "massachusetts"),
    ("mi", "michigan"),
    ("mn", "minnesota"),
    ("ms", "mississippi"),
    ("mo", "missouri"),
    ("mt", "montana"),
    ("ne", "nebraska"),
    ("nv", "nevada"),
    ("nh", "newhampshire"),
    ("nj", "newjersey"),
    ("nm", "newmexico"),
    ("ny", "newyork"),
    ("nc", "northcarolina"),
    ("nd", "northdakota"),
    ("oh", "ohio"),
    ("ok", "oklahoma"),
    ("or", "oregon"),
    ("pa", "pennsylvania"),
    ("ri", "rhodeisland"),
    ("sc", "southcarolina"),
    ("sd", "southdakota"),
    ("tn", "tennessee"),
    ("tx", "texas"),
    ("ut", "utah"),
    ("vt", "vermont"),
    ("va", "virginia"),
    ("wa", "washington"),
    ("wv", "westvirginia"),
    ("wi", "wisconsin"),
    ("wy", "wyoming"),
    ("dc", "districtofcolumbia"),
    ("pr", "puertorico"),
    ("gu", "guam"),
    ("vi", "usvirginislands"),
    ("as", "americansamoa"),
    ("mp", "northernmarianaislands"),
];

/// Every ISO 3166-1 alpha-2 code, lowercase.
const ISO_ALPHA2: &str = "ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw";

/// (alpha-2, alpha-3, names separated by `|`), lowercase letters only (how inputs are compared):
/// the countries most audiences hold.
const COUNTRIES: &[(&str, &str, &str)] = &[
    (
        "us",
        "usa",
        "united states|united states of america|usa|us of a|america",
    ),
    ("ca", "can", "canada"),
    (
        "gb",
        "gbr",
        "united kingdom|great britain|uk|england|scotland|wales|northern ireland|britain",
    ),
    ("ie", "irl", "ireland|éire"),
    ("de", "deu", "germany|deutschland"),
    ("fr", "fra", "france"),
    ("es", "esp", "spain|españa"),
    ("pt", "prt", "portugal"),
    ("it", "ita", "italy|italia"),
    ("nl", "nld", "netherlands|thenetherlands|holland|nederland"),
    ("be", "bel", "belgium|belgique|belgië"),
    ("ch", "che", "switzerland|schweiz|suisse|svizzera"),
    ("at", "aut", "austria|österreich"),
    ("se", "swe", "sweden|sverige"),
    ("no", "nor", "norway|norge"),
    ("dk", "dnk", "denmark|danmark"),
    ("fi", "fin", "finland|suomi"),
    ("pl", "pol", "poland|polska"),
    ("cz", "cze", "czechia|czechrepublic"),
    ("gr", "grc", "greece"),
    ("tr", "tur", "turkey|türkiye"),
    ("ru", "rus", "russia|russianfederation"),
    ("ua", "ukr", "ukraine"),
    ("br", "bra", "brazil|brasil"),
    ("mx", "mex", "mexico|méxico"),
    ("ar", "arg", "argentina"),
    ("cl", "chl", "chile"),
    ("co", "col", "colombia"),
    ("pe", "per", "peru|perú"),
    ("in", "ind", "india"),
    ("cn", "chn", "china|peoplesrepublicofchina"),
    ("jp", "jpn", "japan|nippon"),
    ("kr", "kor", "southkorea|korea|republicofkorea"),
    ("tw", "twn", "taiwan"),
    ("hk", "hkg", "hongkong"),
    ("sg", "sgp", "singapore"),
    ("my", "mys", "malaysia"),
    ("id", "idn", "indonesia"),
    ("th", "tha", "thailand"),
    ("vn", "vnm", "vietnam|vietnam"),
    ("ph", "phl", "philippines"),
    ("au", "aus", "australia"),
    ("nz", "nzl", "newzealand"),
    ("za", "zaf", "southafrica"),
    ("ng", "nga", "nigeria"),
    ("ke", "ken", "kenya"),
    ("eg", "egy", "egypt"),
    ("il", "isr", "israel"),
    ("ae", "are", "unitedarabemirates|uae"),
    ("sa", "sau", "saudiarabia"),
];

/// International dialling codes, for phones written without one.
const DIAL_CODES: &[(&str, &str)] = &[
    ("us", "1"),
    ("ca", "1"),
    ("pr", "1"),
    ("gb", "44"),
    ("ie", "353"),
    ("de", "49"),
    ("fr", "33"),
    ("es", "34"),
    ("pt", "351"),
    ("it", "39"),
    ("nl", "31"),
    ("be", "32"),
    ("ch", "41"),
    ("at", "43"),
    ("se", "46"),
    ("no", "47"),
    ("dk", "45"),
    ("fi", "358"),
    ("pl", "48"),
    ("cz", "420"),
    ("gr", "30"),
    ("tr", "90"),
    ("br", "55"),
    ("mx", "52"),
    ("ar", "54"),
    ("cl", "56"),
    ("co", "57"),
    ("pe", "51"),
    ("in", "91"),
    ("cn", "86"),
    ("jp", "81"),
    ("kr", "82"),
    ("tw", "886"),
    ("hk", "852"),
    ("sg", "65"),
    ("my", "60"),
    ("id", "62"),
    ("th", "66"),
    ("vn", "84"),
    ("ph", "63"),
    ("au", "61"),
    ("nz", "64"),
    ("za", "27"),
    ("ng", "234"),
    ("ke", "254"),
    ("eg", "20"),
    ("il", "972"),
    ("ae", "971"),
    ("sa", "966"),
];
