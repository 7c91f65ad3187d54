//! A deterministic generator of realistic Segment-style traffic, for benchmarks, tests and demos
//! (`tessera gen`).
//!
//! The output depends only on [`GeneratorConfig`]: the same configuration gives the same bytes on
//! every platform (integer arithmetic and IEEE `+ - * /` only, no system clock, no hash-map
//! iteration), so benchmarks and documentation can be reproduced from a seed.
//!
//! ```
//! use tessera::gen::{Generator, GeneratorConfig};
//! let config = GeneratorConfig { events: 100, seed: 7, ..GeneratorConfig::default() };
//! let mut out = Vec::new();
//! Generator::new(config.clone()).write_to(&mut out).unwrap();
//! assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 100);
//! let mut again = Vec::new();
//! Generator::new(config).write_to(&mut again).unwrap();
//! assert_eq!(out, again);
//! ```
//!
//! # What the traffic looks like
//!
//! Visitors arrive spread over the window (`start` .. `start + days`). Each visitor makes on
//! average about 20 events (heavy-tailed: many bounce after a page or two, a few are very active)
//! in sessions on one or more devices (browsers with `analytics.js`, iOS and Android apps with
//! screen calls). About 60% sign up: a `Signed Up` track and an `identify` with `userId` and
//! traits (email, name, plan, country, city/state/zip, age, phone, ...); every later device they
//! log in on identifies again, so a user has several `anonymousId`s. A few devices are shared by
//! two users (same `anonymousId`) and a few emails by two `userId`s: the cases identity resolution
//! must protect. Identified users receive emails (`Email Opened`/`Email Clicked`, sent by a
//! server library without `anonymousId`), some `Unsubscribed`, business users send `group` calls,
//! a few `alias` their device id. Shoppers view and add products and complete orders (`revenue`
//! sometimes as a numeric string).
//!
//! Delivery is realistic too: lines come roughly in time order, with a share of late lines
//! (held back and written a few hundred to a few thousand lines later), re-delivered duplicates
//! (the same line again, same `messageId`) and malformed messages (missing `event`, bad
//! `timestamp`, `properties` that is not an object, no user or anonymous id, a capitalized `type`,
//! a JSON line cut short), which `tessera validate` rejects with their codes.
//!
//! `events` counts output lines, duplicates and malformed lines included.
//!
//! # The planted pattern
//!
//! With [`GeneratorConfig::planted`] set, a profile that has viewed `/pricing` three or more times
//! within the last 7 days completes an order five times as often as otherwise (the per-event
//! chance of `Order Completed` is multiplied by 5 while that holds). Without it, pricing views
//! and orders are independent. The suggestions feature is expected to find this pattern.

use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Write};

use rand::{RngCore, SeedableRng};
use rand_pcg::{Pcg32, Pcg64Mcg};

use crate::time::Timestamp;

const MS_PER_DAY: i64 = 86_400_000;
const MS_PER_MIN: i64 = 60_000;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorConfig {
    /// How many NDJSON lines to write (duplicates and malformed lines included).
    pub events: u64,
    /// The seed: a different seed gives different traffic.
    pub seed: u64,
    /// Start of the time window.
    pub start: Timestamp,
    /// Length of the time window in days (at least 1).
    pub days: u32,
    /// Plant the pricing-page pattern (see the module docs).
    pub planted: bool,
    /// Share of lines that re-deliver an earlier line verbatim.
    pub duplicate_share: f64,
    /// Share of lines that are malformed messages.
    pub malformed_share: f64,
    /// Share of messages delivered late (out of time order).
    pub late_share: f64,
}

/// The default window: the 90 days ending 2026-06-01T00:00:00Z.
pub const DEFAULT_START: Timestamp = Timestamp(1_780_272_000_000 - 90 * MS_PER_DAY);

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            events: 10_000,
            seed: 1,
            start: DEFAULT_START,
            days: 90,
            planted: false,
            duplicate_share: 0.01,
            malformed_share: 0.005,
            late_share: 0.02,
        }
    }
}

/// Streams generated messages; holds only the visitors active at the current time.
pub struct Generator {
    config: GeneratorConfig,
    end: i64,
    expected_users: u64,
    next_user: u32,
    next_arrival: i64,
    active: BinaryHeap<Visitor>,
    rng: Pcg64Mcg,
    now: i64,
    emitted: u64,
    recent: Vec<Vec<u8>>,
    recent_len: usize,
    recent_pos: usize,
    late: VecDeque<(u64, Vec<u8>)>,
    line: Vec<u8>,
    day_cache: (i64, [u8; 11]),
}

const RECENT: usize = 256;

impl Generator {
    /// A generator for `config`.
    pub fn new(config: GeneratorConfig) -> Generator {
        let days = i64::from(config.days.max(1));
        let end = config.start.0 + days * MS_PER_DAY;
        let expected_users = (config.events / 20).max(1);
        let mut g = Generator {
            end,
            expected_users,
            next_user: 0,
            next_arrival: 0,
            active: BinaryHeap::new(),
            rng: Pcg64Mcg::seed_from_u64(mix(config.seed, 0x6765_6e65_7261_746f)),
            now: config.start.0,
            emitted: 0,
            recent: (0..RECENT).map(|_| Vec::new()).collect(),
            recent_len: 0,
            recent_pos: 0,
            late: VecDeque::new(),
            line: Vec::with_capacity(2048),
            day_cache: (i64::MIN, [0; 11]),
            config,
        };
        g.next_arrival = g.arrival_time(0);
        g
    }

    /// Appends the next line (with its `\n`) to `out`; `false` once `events` lines were given.
    pub fn next_line(&mut self, out: &mut Vec<u8>) -> bool {
        if self.emitted >= self.config.events {
            return false;
        }
        let left = self.config.events - self.emitted;
        loop {
            let due = self
                .late
                .front()
                .is_some_and(|(at, _)| *at <= self.emitted || left <= self.late.len() as u64);
            if due {
                if let Some((_, line)) = self.late.pop_front() {
                    out.extend_from_slice(&line);
                    break;
                }
            }
            let r = unit(&mut self.rng);
            if r < self.config.duplicate_share && self.recent_len > 0 {
                let i = below64(&mut self.rng, self.recent_len as u64) as usize;
                out.extend_from_slice(&self.recent[i]);
                break;
            }
            if r < self.config.duplicate_share + self.config.malformed_share {
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                self.malformed(&mut line);
                out.extend_from_slice(&line);
                self.line = line;
                break;
            }
            let mut line = std::mem::take(&mut self.line);
            line.clear();
            self.visitor_event(&mut line);
            line.push(b'\n');
            let slot = self.recent_pos;
            self.recent[slot].clear();
            self.recent[slot].extend_from_slice(&line);
            self.recent_pos = (slot + 1) % RECENT;
            self.recent_len = (self.recent_len + 1).min(RECENT);
            // A late line must still fit before the end, so the count stays exact.
            let room = left > self.late.len() as u64 + 1;
            if room && unit(&mut self.rng) < self.config.late_share {
                let delay = 200 + below64(&mut self.rng, 3000);
                let at = self.emitted + delay;
                let pos = self.late.partition_point(|(t, _)| *t <= at);
                self.late.insert(pos, (at, line.clone()));
                self.line = line;
                continue;
            }
            out.extend_from_slice(&line);
            self.line = line;
            break;
        }
        self.emitted += 1;
        true
    }

    /// Writes every remaining line to `w`, buffering in 64 KB chunks; returns the lines written.
    pub fn write_to(&mut self, mut w: impl Write) -> io::Result<u64> {
        let mut buf = Vec::with_capacity(1 << 17);
        let mut n = 0;
        while self.next_line(&mut buf) {
            n += 1;
            if buf.len() >= 1 << 16 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        w.write_all(&buf)?;
        w.flush()?;
        Ok(n)
    }

    fn arrival_time(&mut self, i: u32) -> i64 {
        let span = (self.end - self.config.start.0) as f64;
        let frac = (f64::from(i) + unit(&mut self.rng)) / self.expected_users as f64;
        let last = self.end - 3_600_000;
        let t = self.config.start.0 + (span * frac) as i64;
        if t < last {
            t
        } else {
            last + below64(&mut self.rng, 3_000_000) as i64
        }
    }

    fn visitor_event(&mut self, out: &mut Vec<u8>) {
        while self
            .active
            .peek()
            .is_none_or(|v| v.next > self.next_arrival)
        {
            let idx = self.next_user;
            let v = Visitor::arrive(self.config.seed, idx, self.next_arrival, self.end);
            self.active.push(v);
            self.next_user = self.next_user.wrapping_add(1);
            self.next_arrival = self.arrival_time(self.next_user);
        }
        let Some(mut v) = self.active.pop() else {
            return;
        };
        self.now = v.next;
        self.emit(&mut v, out);
        v.remaining -= 1;
        if v.remaining > 0 {
            v.advance(self.end);
            self.active.push(v);
        }
    }

    fn emit(&mut self, v: &mut Visitor, out: &mut Vec<u8>) {
        let seed = self.config.seed;
        let dev = v.device_info(seed);
        let t = v.next;
        // A signed-up visitor on a device it has not logged in on yet identifies first.
        if v.identified && v.logged_in & (1 << v.device) == 0 {
            v.logged_in |= 1 << v.device;
            return self.identify(v, &dev, t, out);
        }
        if !v.identified && v.will_sign_up && v.done >= v.sign_up_after {
            v.identified = true;
            v.logged_in |= 1 << v.device;
            v.done += 1;
            return self.track_simple(v, &dev, t, "Signed Up", out);
        }
        v.done += 1;
        if v.session_fresh {
            v.session_fresh = false;
            return self.view(v, &dev, t, true, out);
        }
        let mut order_chance = if v.cart != 0 { 0.08 } else { 0.0 };
        if self.config.planted && v.pricing_hot(t) {
            order_chance = (order_chance * 5.0_f64).min(0.9);
            if v.cart == 0 {
                v.cart = 1 + below(&mut v.rng, PRODUCTS) as u16;
                order_chance = 0.2;
            }
        }
        let r = unit(&mut v.rng);
        if r < order_chance {
            return self.order(v, &dev, t, out);
        }
        let r = unit(&mut v.rng);
        match r {
            _ if r < 0.50 => self.view(v, &dev, t, false, out),
            _ if r < 0.66 => self.product(v, &dev, t, "Product Viewed", out),
            _ if r < 0.72 => self.product(v, &dev, t, "Product Added", out),
            _ if r < 0.80 && v.identified && !v.unsubscribed => {
                self.email(v, t, "Email Opened", out)
            }
            _ if r < 0.83 && v.identified && !v.unsubscribed => {
                self.email(v, t, "Email Clicked", out)
            }
            _ if r < 0.835 && v.identified && !v.unsubscribed => {
                v.unsubscribed = true;
                self.email(v, t, "Unsubscribed", out)
            }
            _ if r < 0.87 && v.identified => {
                if unit(&mut v.rng) < 0.3 && v.plan == 0 {
                    v.plan = 1;
                }
                self.identify(v, &dev, t, out)
            }
            _ if r < 0.885 && v.identified && v.attrs.business => self.group(v, &dev, t, out),
            _ if r < 0.89 && v.identified => self.alias(v, &dev, t, out),
            _ => self.view(v, &dev, t, false, out),
        }
    }

    fn header(&mut self, v: &Visitor, dev: &Device, kind: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\",\"messageId\":\"");
        self.message_id(out);
        out.extend_from_slice(b"\",\"anonymousId\":\"");
        out.extend_from_slice(&dev.anonymous_id);
        out.push(b'"');
        if v.identified {
            out.extend_from_slice(b",\"userId\":\"");
            user_id(self.config.seed, v.idx, out);
            out.push(b'"');
        }
    }

    fn trailer(
        &mut self,
        v: &Visitor,
        dev: &Device,
        t: i64,
        page: Option<&Page>,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b",\"context\":{\"library\":{\"name\":\"");
        out.extend_from_slice(dev.kind.library().as_bytes());
        out.extend_from_slice(b"\",\"version\":\"");
        out.extend_from_slice(dev.kind.library_version().as_bytes());
        out.extend_from_slice(b"\"},\"ip\":\"");
        out.extend_from_slice(&dev.ip);
        out.extend_from_slice(b"\",\"locale\":\"");
        out.extend_from_slice(COUNTRIES[v.attrs.country as usize].locale.as_bytes());
        out.extend_from_slice(b"\",\"userAgent\":\"");
        out.extend_from_slice(dev.kind.user_agent().as_bytes());
        out.push(b'"');
        match dev.kind {
            DeviceKind::Ios | DeviceKind::Android => {
                let ios = dev.kind == DeviceKind::Ios;
                out.extend_from_slice(b",\"app\":{\"name\":\"Acme\",\"version\":\"3.4.1\",\"build\":\"341\"},\"device\":{\"type\":\"");
                out.extend_from_slice(if ios { b"ios" } else { b"android" });
                out.extend_from_slice(b"\",\"id\":\"");
                out.extend_from_slice(&dev.anonymous_id);
                out.extend_from_slice(if ios {
                    b"\",\"manufacturer\":\"Apple\",\"model\":\"iPhone15,2\"},\"os\":{\"name\":\"iOS\",\"version\":\"17.5\"}"
                } else {
                    b"\",\"manufacturer\":\"Google\",\"model\":\"Pixel 8\"},\"os\":{\"name\":\"Android\",\"version\":\"14\"}"
                });
            }
            _ => {
                if let Some(p) = page {
                    out.extend_from_slice(b",\"page\":");
                    p.write(out);
                }
            }
        }
        out.push(b'}');
        out.extend_from_slice(b",\"timestamp\":\"");
        self.time(t, out);
        out.push(b'"');
        if unit(&mut self.rng) < 0.3 {
            out.extend_from_slice(b",\"sentAt\":\"");
            let delay = below64(&mut self.rng, 1500) as i64 + 5;
            self.time(t + delay, out);
            out.push(b'"');
        }
        out.push(b'}');
    }

    fn current_page(&mut self, v: &mut Visitor, session_start: bool) -> Page {
        let pick = below(&mut v.rng, 100);
        let path = match pick {
            0..=17 => PagePath::Home,
            18..=29 => PagePath::Pricing,
            30..=44 => PagePath::Docs(below(&mut v.rng, DOCS.len() as u32) as u8),
            45..=59 => PagePath::Blog(below(&mut v.rng, BLOG.len() as u32) as u8),
            60..=64 if !v.identified => PagePath::Signup,
            _ => PagePath::Product(below(&mut v.rng, PRODUCTS) as u16),
        };
        let referrer = if session_start {
            Referrer::External(below(&mut v.rng, REFERRERS.len() as u32) as u8)
        } else {
            Referrer::Internal(v.last_path)
        };
        v.last_path = path;
        Page { path, referrer }
    }

    fn view(&mut self, v: &mut Visitor, dev: &Device, t: i64, start: bool, out: &mut Vec<u8>) {
        let page = self.current_page(v, start);
        if page.path == PagePath::Pricing {
            v.note_pricing(t);
        }
        if dev.kind.is_app() {
            self.header(v, dev, "screen", out);
            out.extend_from_slice(b",\"name\":\"");
            out.extend_from_slice(page.path.screen().as_bytes());
            out.extend_from_slice(b"\",\"properties\":{\"name\":\"");
            out.extend_from_slice(page.path.screen().as_bytes());
            out.extend_from_slice(b"\"}");
            return self.trailer(v, dev, t, None, out);
        }
        self.header(v, dev, "page", out);
        out.extend_from_slice(b",\"name\":\"");
        page.path.write_title(out);
        out.extend_from_slice(b"\",\"properties\":");
        page.write(out);
        self.trailer(v, dev, t, Some(&page), out);
    }

    fn track_simple(&mut self, v: &Visitor, dev: &Device, t: i64, name: &str, out: &mut Vec<u8>) {
        self.header(v, dev, "track", out);
        out.extend_from_slice(b",\"event\":\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\",\"properties\":{\"method\":\"");
        out.extend_from_slice(if v.idx % 3 == 0 { b"google" } else { b"email" });
        out.extend_from_slice(b"\",\"plan\":\"");
        out.extend_from_slice(PLANS[v.plan as usize].as_bytes());
        out.extend_from_slice(b"\"}");
        self.trailer(v, dev, t, None, out);
    }

    fn product(&mut self, v: &mut Visitor, dev: &Device, t: i64, name: &str, out: &mut Vec<u8>) {
        let p = below(&mut v.rng, PRODUCTS);
        if name == "Product Added" {
            v.cart = p as u16 + 1;
        }
        self.header(v, dev, "track", out);
        out.extend_from_slice(b",\"event\":\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\",\"properties\":{\"product_id\":\"");
        product_id(p, out);
        out.extend_from_slice(b"\",\"name\":\"");
        out.extend_from_slice(PRODUCT_NAMES[p as usize % PRODUCT_NAMES.len()].as_bytes());
        out.extend_from_slice(b"\",\"category\":\"");
        out.extend_from_slice(CATEGORIES[p as usize % CATEGORIES.len()].as_bytes());
        out.extend_from_slice(b"\",\"price\":");
        cents(product_price(p), out);
        if name == "Product Added" {
            out.extend_from_slice(b",\"quantity\":1");
        }
        out.extend_from_slice(b",\"currency\":\"USD\"}");
        self.trailer(v, dev, t, None, out);
    }

    fn order(&mut self, v: &mut Visitor, dev: &Device, t: i64, out: &mut Vec<u8>) {
        let p = u32::from(v.cart.max(1) - 1);
        v.cart = 0;
        let qty = 1 + below(&mut v.rng, 3);
        let price = product_price(p);
        let revenue = price * u64::from(qty);
        self.header(v, dev, "track", out);
        out.extend_from_slice(
            b",\"event\":\"Order Completed\",\"properties\":{\"order_id\":\"ord_",
        );
        hex(self.rng.next_u64() >> 16, 12, out);
        out.extend_from_slice(b"\",\"revenue\":");
        // Some senders stringify numbers; evaluators must still count them.
        if below(&mut v.rng, 10) == 0 {
            out.push(b'"');
            cents(revenue, out);
            out.push(b'"');
        } else {
            cents(revenue, out);
        }
        out.extend_from_slice(b",\"currency\":\"");
        out.extend_from_slice(COUNTRIES[v.attrs.country as usize].currency.as_bytes());
        out.extend_from_slice(b"\",\"products\":[{\"product_id\":\"");
        product_id(p, out);
        out.extend_from_slice(b"\",\"price\":");
        cents(price, out);
        out.extend_from_slice(b",\"quantity\":");
        push_u64(u64::from(qty), out);
        out.extend_from_slice(b"}]}");
        self.trailer(v, dev, t, None, out);
    }

    fn email(&mut self, v: &mut Visitor, t: i64, name: &str, out: &mut Vec<u8>) {
        // Email events come from the mail tool's server integration: userId only.
        let campaign = below(&mut v.rng, 40);
        out.extend_from_slice(b"{\"type\":\"track\",\"messageId\":\"");
        self.message_id(out);
        out.extend_from_slice(b"\",\"userId\":\"");
        user_id(self.config.seed, v.idx, out);
        out.extend_from_slice(b"\",\"event\":\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\",\"properties\":{\"campaign_id\":\"cmp_");
        push_u64(u64::from(campaign), out);
        out.extend_from_slice(b"\",\"email_subject\":\"");
        out.extend_from_slice(SUBJECTS[campaign as usize % SUBJECTS.len()].as_bytes());
        out.extend_from_slice(b"\"},\"context\":{\"library\":{\"name\":\"analytics-node\",\"version\":\"2.1.0\"}},\"timestamp\":\"");
        self.time(t, out);
        out.extend_from_slice(b"\"}");
    }

    fn identify(&mut self, v: &mut Visitor, dev: &Device, t: i64, out: &mut Vec<u8>) {
        let seed = self.config.seed;
        self.header(v, dev, "identify", out);
        let a = &v.attrs;
        let (first, last) = names(seed, v.idx);
        let country = &COUNTRIES[a.country as usize];
        let city = &country.cities[a.city as usize % country.cities.len()];
        out.extend_from_slice(b",\"traits\":{\"email\":\"");
        let messy = below(&mut v.rng, 25) == 0;
        let email_owner = a.shared_email_with.unwrap_or(v.idx);
        email(seed, email_owner, messy, out);
        out.extend_from_slice(b"\",\"name\":\"");
        out.extend_from_slice(first.0.as_bytes());
        out.push(b' ');
        out.extend_from_slice(last.0.as_bytes());
        out.extend_from_slice(b"\",\"first_name\":\"");
        out.extend_from_slice(first.0.as_bytes());
        out.extend_from_slice(b"\",\"last_name\":\"");
        out.extend_from_slice(last.0.as_bytes());
        out.extend_from_slice(b"\",\"plan\":\"");
        out.extend_from_slice(PLANS[v.plan as usize].as_bytes());
        out.extend_from_slice(b"\",\"country\":\"");
        out.extend_from_slice(if a.country_by_name {
            country.name.as_bytes()
        } else {
            country.code.as_bytes()
        });
        out.extend_from_slice(b"\",\"city\":\"");
        out.extend_from_slice(city.0.as_bytes());
        out.extend_from_slice(b"\",\"state\":\"");
        out.extend_from_slice(if a.state_by_name { city.2 } else { city.1 }.as_bytes());
        out.extend_from_slice(b"\",\"zip\":\"");
        out.extend_from_slice(city.3.as_bytes());
        if country.code == "US" && a.zip4 {
            out.push(b'-');
            push_padded(u64::from(a.phone % 10_000), 4, out);
        }
        out.extend_from_slice(b"\",\"age\":");
        push_u64(u64::from(a.age), out);
        out.extend_from_slice(b",\"gender\":\"");
        out.extend_from_slice(if a.female { b"female" } else { b"male" });
        out.extend_from_slice(b"\",\"birthday\":\"");
        push_u64(2026 - u64::from(a.age), out);
        out.push(b'-');
        push_padded(u64::from(1 + a.phone % 12), 2, out);
        out.push(b'-');
        push_padded(u64::from(1 + a.phone / 12 % 28), 2, out);
        out.extend_from_slice(b"\",\"phone\":\"");
        country.phone(a.phone, a.phone_style, out);
        out.push(b'"');
        if a.business {
            out.extend_from_slice(b",\"company\":{\"id\":\"");
            group_id(seed, v.idx, out);
            out.extend_from_slice(b"\",\"employees\":");
            push_u64(u64::from(10 + a.phone % 990), out);
            out.push(b'}');
        }
        out.push(b'}');
        self.trailer(v, dev, t, None, out);
    }

    fn group(&mut self, v: &Visitor, dev: &Device, t: i64, out: &mut Vec<u8>) {
        self.header(v, dev, "group", out);
        out.extend_from_slice(b",\"groupId\":\"");
        group_id(self.config.seed, v.idx, out);
        out.extend_from_slice(b"\",\"traits\":{\"name\":\"");
        let company = mix(self.config.seed, u64::from(v.idx / 8) ^ 0xc0);
        out.extend_from_slice(COMPANIES[(company % COMPANIES.len() as u64) as usize].as_bytes());
        out.extend_from_slice(b"\",\"industry\":\"");
        out.extend_from_slice(INDUSTRIES[(company >> 20) as usize % INDUSTRIES.len()].as_bytes());
        out.extend_from_slice(b"\",\"plan\":\"");
        out.extend_from_slice(PLANS[v.plan as usize].as_bytes());
        out.extend_from_slice(b"\",\"employees\":");
        push_u64(10 + (company >> 40) % 990, out);
        out.push(b'}');
        self.trailer(v, dev, t, None, out);
    }

    fn alias(&mut self, v: &Visitor, dev: &Device, t: i64, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"type\":\"alias\",\"messageId\":\"");
        self.message_id(out);
        out.extend_from_slice(b"\",\"previousId\":\"");
        out.extend_from_slice(&dev.anonymous_id);
        out.extend_from_slice(b"\",\"userId\":\"");
        user_id(self.config.seed, v.idx, out);
        out.push(b'"');
        self.trailer(v, dev, t, None, out);
    }

    fn malformed(&mut self, out: &mut Vec<u8>) {
        let t = self.now;
        let kind = below64(&mut self.rng, 6);
        let anon = self.rng.next_u64();
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(match kind {
            0 | 2 | 3 => b"track".as_slice(),
            4 => b"Track",
            _ => b"page",
        });
        out.extend_from_slice(b"\",\"messageId\":\"");
        self.message_id(out);
        out.push(b'"');
        if kind != 3 {
            out.extend_from_slice(b",\"anonymousId\":\"");
            hex(anon, 16, out);
            out.push(b'"');
        }
        match kind {
            0 => out.extend_from_slice(b",\"properties\":{\"product_id\":\"sku-1001\"}"),
            2 => {
                out.extend_from_slice(b",\"event\":\"Product Viewed\",\"properties\":\"sku-1001\"")
            }
            3 | 4 => out.extend_from_slice(b",\"event\":\"Product Viewed\",\"properties\":{}"),
            _ => out.extend_from_slice(b",\"properties\":{\"path\":\"/pricing\"}"),
        }
        out.extend_from_slice(b",\"timestamp\":\"");
        if kind == 1 {
            out.extend_from_slice(match anon % 3 {
                0 => b"yesterday".as_slice(),
                1 => b"2026-02-30T10:00:00Z",
                _ => b"2026-04-01 10:00:00",
            });
        } else {
            self.time(t, out);
        }
        out.extend_from_slice(b"\"}");
        if kind == 5 {
            // A line cut short, as a crashed writer leaves it.
            let keep = out.len() / 2;
            out.truncate(keep);
        }
        out.push(b'\n');
    }

    fn message_id(&mut self, out: &mut Vec<u8>) {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        uuid(a, b, out);
    }

    fn time(&mut self, t: i64, out: &mut Vec<u8>) {
        let day = t.div_euclid(MS_PER_DAY);
        if self.day_cache.0 != day {
            let (y, m, d, ..) = Timestamp(t).to_civil();
            let mut s = [0u8; 11];
            let text = format!("{y:04}-{m:02}-{d:02}T");
            s.copy_from_slice(&text.as_bytes()[..11]);
            self.day_cache = (day, s);
        }
        out.extend_from_slice(&self.day_cache.1);
        let ms = t.rem_euclid(MS_PER_DAY) as u64;
        let secs = ms / 1000;
        push_padded(secs / 3600, 2, out);
        out.push(b':');
        push_padded(secs / 60 % 60, 2, out);
        out.push(b':');
        push_padded(secs % 60, 2, out);
        out.push(b'.');
        push_padded(ms % 1000, 3, out);
        out.push(b'Z');
    }
}

impl Iterator for Generator {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let mut buf = Vec::new();
        if !self.next_line(&mut buf) {
            return None;
        }
        buf.pop();
        // Every generated byte sequence is UTF-8 (ASCII plus UTF-8 literals); a cut-short line
        // is cut at an ASCII position of an ASCII-only message.
        Some(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// One visitor's state while it is active.
struct Visitor {
    next: i64,
    idx: u32,
    rng: Pcg32,
    remaining: u32,
    life_end: i64,
    sessions_left: u32,
    session_left: u32,
    session_fresh: bool,
    device: u8,
    devices: u8,
    logged_in: u8,
    identified: bool,
    will_sign_up: bool,
    sign_up_after: u32,
    done: u32,
    unsubscribed: bool,
    plan: u8,
    cart: u16,
    last_path: PagePath,
    pricing: [i64; 3],
    attrs: Attrs,
}

impl PartialEq for Visitor {
    fn eq(&self, other: &Self) -> bool {
        (self.next, self.idx) == (other.next, other.idx)
    }
}
impl Eq for Visitor {}
impl PartialOrd for Visitor {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Visitor {
    // Reversed: the heap pops the earliest visitor (ties: the lowest index).
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.next, other.idx).cmp(&(self.next, self.idx))
    }
}

/// What a visitor is: drawn once, on arrival.
struct Attrs {
    country: u8,
    city: u8,
    age: u8,
    female: bool,
    business: bool,
    country_by_name: bool,
    state_by_name: bool,
    zip4: bool,
    phone_style: u8,
    phone: u32,
    shared_email_with: Option<u32>,
    shared_device_with: Option<u32>,
}

impl Visitor {
    fn arrive(seed: u64, idx: u32, at: i64, end: i64) -> Visitor {
        let mut rng = Pcg32::seed_from_u64(mix(seed, u64::from(idx)));
        // Heavy-tailed activity: mean about 20 events, many short visits, a few very long ones.
        let u = unit(&mut rng);
        let remaining = 1 + (76.0 * u * u * u) as u32;
        let per_session = 2 + below(&mut rng, 7);
        let sessions = remaining.div_ceil(per_session).max(1);
        let left = (end - at).max(MS_PER_MIN);
        let life = (left as f64 * (0.05 + 0.95 * unit(&mut rng))) as i64;
        let devices =
            1 + u8::from(remaining > 8) + u8::from(remaining > 30 && below(&mut rng, 2) == 0);
        let roll = below(&mut rng, 1000);
        let country = pick_weighted(below(&mut rng, 1000));
        let attrs = Attrs {
            country,
            city: below(&mut rng, 8) as u8,
            age: 18 + below(&mut rng, 60) as u8,
            female: below(&mut rng, 2) == 0,
            business: below(&mut rng, 4) == 0,
            country_by_name: below(&mut rng, 5) == 0,
            state_by_name: below(&mut rng, 3) == 0,
            zip4: below(&mut rng, 4) == 0,
            phone_style: below(&mut rng, 4) as u8,
            phone: rng.next_u32(),
            // A household: two people share one email address, or one device (always the
            // previous visitor's, so the partner exists).
            shared_email_with: (idx > 0 && roll < 3).then(|| idx - 1),
            shared_device_with: (idx > 0 && (3..8).contains(&roll)).then(|| idx - 1),
        };
        let will_sign_up = remaining >= 3 && below(&mut rng, 100) < 60;
        let sign_up_after = below(&mut rng, remaining.min(8));
        let plan = match below(&mut rng, 100) {
            0..=64 => 0,
            65..=91 => 1,
            _ => 2,
        };
        Visitor {
            next: at,
            idx,
            rng,
            remaining,
            life_end: at + life,
            sessions_left: sessions - 1,
            session_left: per_session,
            session_fresh: true,
            device: 0,
            devices,
            logged_in: 0,
            identified: false,
            will_sign_up,
            sign_up_after,
            done: 0,
            unsubscribed: false,
            plan,
            cart: 0,
            last_path: PagePath::Home,
            pricing: [i64::MIN / 2; 3],
            attrs,
        }
    }

    fn advance(&mut self, end: i64) {
        if self.session_left > 1 || self.sessions_left == 0 {
            self.session_left = self.session_left.saturating_sub(1);
            self.next += 3_000 + below64(&mut self.rng, 240_000) as i64;
        } else {
            self.sessions_left -= 1;
            self.session_left = 2 + below(&mut self.rng, 7);
            self.session_fresh = true;
            let room = (self.life_end - self.next).max(MS_PER_MIN) as f64;
            let gap = room * unit(&mut self.rng) * 2.0 / f64::from(self.sessions_left + 2);
            self.next += 600_000 + gap as i64;
            if self.devices > 1 {
                self.device = below(&mut self.rng, u32::from(self.devices)) as u8;
            }
        }
        self.next = self.next.min(end - 1);
    }

    fn note_pricing(&mut self, t: i64) {
        self.pricing = [self.pricing[1], self.pricing[2], t];
    }

    fn pricing_hot(&self, t: i64) -> bool {
        t - self.pricing[0] <= 7 * MS_PER_DAY
    }

    fn device_info(&self, seed: u64) -> Device {
        let (owner, slot) = match self.attrs.shared_device_with {
            Some(other) if self.device + 1 == self.devices && self.devices > 1 => (other, 0),
            _ => (self.idx, self.device),
        };
        let h = mix(seed ^ 0xde71ce, (u64::from(owner) << 8) | u64::from(slot));
        let kind = if slot == 0 {
            match h % 10 {
                0..=5 => DeviceKind::DesktopChrome,
                6 | 7 => DeviceKind::DesktopSafari,
                _ => DeviceKind::MobileSafari,
            }
        } else {
            match h % 10 {
                0..=3 => DeviceKind::Ios,
                4..=6 => DeviceKind::Android,
                7 => DeviceKind::DesktopFirefox,
                _ => DeviceKind::MobileChrome,
            }
        };
        let h2 = mix(seed ^ 0xa11d, (u64::from(owner) << 8) | u64::from(slot));
        let mut anonymous_id = Vec::with_capacity(36);
        uuid(h, h2, &mut anonymous_id);
        let mut ip = Vec::with_capacity(15);
        let octets = mix(h2, 7);
        for (i, shift) in [0u32, 8, 16, 24].into_iter().enumerate() {
            if i > 0 {
                ip.push(b'.');
            }
            let mut o = (octets >> shift) as u8;
            if i == 0 {
                o = 24 + o % 180;
            }
            push_u64(u64::from(o), &mut ip);
        }
        Device {
            kind,
            anonymous_id,
            ip,
        }
    }
}

struct Device {
    kind: DeviceKind,
    anonymous_id: Vec<u8>,
    ip: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum DeviceKind {
    DesktopChrome,
    DesktopSafari,
    DesktopFirefox,
    MobileSafari,
    MobileChrome,
    Ios,
    Android,
}

impl DeviceKind {
    fn is_app(self) -> bool {
        matches!(self, DeviceKind::Ios | DeviceKind::Android)
    }
    fn library(self) -> &'static str {
        match self {
            DeviceKind::Ios => "analytics-ios",
            DeviceKind::Android => "analytics-android",
            _ => "analytics.js",
        }
    }
    fn library_version(self) -> &'static str {
        match self {
            DeviceKind::Ios => "4.1.8",
            DeviceKind::Android => "4.11.3",
            _ => "2.11.1",
        }
    }
    fn user_agent(self) -> &'static str {
        match self {
            DeviceKind::DesktopChrome => "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            DeviceKind::DesktopSafari => "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            DeviceKind::DesktopFirefox => "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            DeviceKind::MobileSafari => "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            DeviceKind::MobileChrome => "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
            DeviceKind::Ios => "Acme/3.4.1 (iPhone; iOS 17.5; Scale/3.00)",
            DeviceKind::Android => "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PagePath {
    Home,
    Pricing,
    Signup,
    Docs(u8),
    Blog(u8),
    Product(u16),
}

impl PagePath {
    fn write_path(self, out: &mut Vec<u8>) {
        match self {
            PagePath::Home => out.push(b'/'),
            PagePath::Pricing => out.extend_from_slice(b"/pricing"),
            PagePath::Signup => out.extend_from_slice(b"/signup"),
            PagePath::Docs(i) => {
                out.extend_from_slice(b"/docs/");
                out.extend_from_slice(DOCS[i as usize].0.as_bytes());
            }
            PagePath::Blog(i) => {
                out.extend_from_slice(b"/blog/");
                out.extend_from_slice(BLOG[i as usize].0.as_bytes());
            }
            PagePath::Product(p) => {
                out.extend_from_slice(b"/product/");
                product_id(u32::from(p), out);
            }
        }
    }
    fn write_title(self, out: &mut Vec<u8>) {
        match self {
            PagePath::Home => out.extend_from_slice(b"Home"),
            PagePath::Pricing => out.extend_from_slice(b"Pricing"),
            PagePath::Signup => out.extend_from_slice(b"Sign up"),
            PagePath::Docs(i) => out.extend_from_slice(DOCS[i as usize].1.as_bytes()),
            PagePath::Blog(i) => out.extend_from_slice(BLOG[i as usize].1.as_bytes()),
            PagePath::Product(p) => {
                out.extend_from_slice(PRODUCT_NAMES[p as usize % PRODUCT_NAMES.len()].as_bytes())
            }
        }
    }
    fn screen(self) -> &'static str {
        match self {
            PagePath::Home => "Home",
            PagePath::Pricing => "Plans",
            PagePath::Signup => "Sign Up",
            PagePath::Docs(_) => "Help",
            PagePath::Blog(_) => "Stories",
            PagePath::Product(_) => "Product Detail",
        }
    }
}

enum Referrer {
    External(u8),
    Internal(PagePath),
}

struct Page {
    path: PagePath,
    referrer: Referrer,
}

const SITE: &str = "https://www.acme.shop";

impl Page {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"path\":\"");
        self.path.write_path(out);
        out.extend_from_slice(b"\",\"referrer\":\"");
        match self.referrer {
            Referrer::External(i) => out.extend_from_slice(REFERRERS[i as usize].as_bytes()),
            Referrer::Internal(p) => {
                out.extend_from_slice(SITE.as_bytes());
                p.write_path(out);
            }
        }
        out.extend_from_slice(b"\",\"search\":\"\",\"title\":\"");
        self.path.write_title(out);
        out.extend_from_slice(" – Acme".as_bytes());
        out.extend_from_slice(b"\",\"url\":\"");
        out.extend_from_slice(SITE.as_bytes());
        self.path.write_path(out);
        out.extend_from_slice(b"\"}");
    }
}

fn user_id(seed: u64, idx: u32, out: &mut Vec<u8>) {
    // An odd multiplier is a bijection on u32, so user ids never collide.
    let scrambled = idx.wrapping_mul(0x9e37_79b1) ^ (seed as u32);
    out.extend_from_slice(b"usr_");
    hex(u64::from(scrambled), 8, out);
}

fn group_id(seed: u64, idx: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(b"org_");
    hex(mix(seed, u64::from(idx / 8) ^ 0xc0) >> 32, 8, out);
}

fn email(seed: u64, idx: u32, messy: bool, out: &mut Vec<u8>) {
    let (first, last) = names(seed, idx);
    let (first, last) = (first.1, last.1);
    let domain = DOMAINS[(mix(seed, u64::from(idx) ^ 0xe3a1) % DOMAINS.len() as u64) as usize];
    let start = out.len();
    if messy {
        out.push(b' ');
    }
    out.extend_from_slice(first.as_bytes());
    out.push(b'.');
    out.extend_from_slice(last.as_bytes());
    push_u64(u64::from(idx), out);
    out.push(b'@');
    out.extend_from_slice(domain.as_bytes());
    if messy {
        // Senders capitalize addresses; identity resolution lowercases them.
        if let Some(c) = out.get_mut(start + 1) {
            c.make_ascii_uppercase();
        }
    }
}

/// A visitor's first and last name: a pure function of the visitor, so a shared email can be
/// rebuilt from the partner's index.
fn names(
    seed: u64,
    idx: u32,
) -> (
    &'static (&'static str, &'static str),
    &'static (&'static str, &'static str),
) {
    let h = mix(seed ^ 0x6e61_6d65, u64::from(idx));
    (
        &FIRST_NAMES[(h % FIRST_NAMES.len() as u64) as usize],
        &LAST_NAMES[((h >> 32) % LAST_NAMES.len() as u64) as usize],
    )
}

fn product_id(p: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(b"sku-");
    push_u64(u64::from(1000 + p), out);
}

fn product_price(p: u32) -> u64 {
    // Prices end in .99, .49 or .00 like a real catalogue.
    let base = 5 + u64::from(p.wrapping_mul(2_654_435_761) % 195);
    let cents = [99, 49, 0][(p % 3) as usize];
    base * 100 + cents
}

fn cents(c: u64, out: &mut Vec<u8>) {
    push_u64(c / 100, out);
    if c % 100 != 0 {
        out.push(b'.');
        let rest = c % 100;
        if rest % 10 == 0 {
            push_u64(rest / 10, out);
        } else {
            push_padded(rest, 2, out);
        }
    }
}

fn push_u64(mut n: u64, out: &mut Vec<u8>) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[i..]);
}

fn push_padded(n: u64, width: usize, out: &mut Vec<u8>) {
    let mut tmp = [b'0'; 20];
    let mut n = n;
    for i in (0..width).rev() {
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&tmp[..width]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(n: u64, digits: u32, out: &mut Vec<u8>) {
    for i in (0..digits).rev() {
        out.push(HEX[((n >> (i * 4)) & 0xf) as usize]);
    }
}

fn uuid(a: u64, b: u64, out: &mut Vec<u8>) {
    // Version 4 layout, so the ids look like what SDKs send.
    let a = (a & !0xf000) | 0x4000;
    let b = (b & !(0xc << 60)) | (0x8 << 60);
    hex(a >> 32, 8, out);
    out.push(b'-');
    hex(a >> 16, 4, out);
    out.push(b'-');
    hex(a, 4, out);
    out.push(b'-');
    hex(b >> 48, 4, out);
    out.push(b'-');
    hex(b, 12, out);
}

/// SplitMix64 finalizer over a seed and a key: the per-visitor and per-device streams.
fn mix(seed: u64, key: u64) -> u64 {
    let mut z = seed ^ key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

fn below(rng: &mut impl RngCore, n: u32) -> u32 {
    ((u64::from(rng.next_u32()) * u64::from(n)) >> 32) as u32
}

fn below64(rng: &mut impl RngCore, n: u64) -> u64 {
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

fn pick_weighted(roll: u32) -> u8 {
    let mut acc = 0;
    for (i, c) in COUNTRIES.iter().enumerate() {
        acc += c.weight;
        if roll < acc {
            return i as u8;
        }
    }
    0
}

struct Country {
    code: &'static str,
    name: &'static str,
    weight: u32,
    locale: &'static str,
    currency: &'static str,
    dial: &'static str,
    national_digits: u32,
    /// (city, state code, state name, postal code)
    cities: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

impl Country {
    fn phone(&self, n: u32, style: u8, out: &mut Vec<u8>) {
        let mut digits = Vec::with_capacity(12);
        let mut x = u64::from(n) * 7_919 + 1_000_003;
        digits.push(b'2' + (x % 7) as u8);
        for _ in 1..self.national_digits {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            digits.push(b'0' + ((x >> 33) % 10) as u8);
        }
        match style {
            // `+1 415-555-0132`: the common international form.
            0 | 1 => {
                out.push(b'+');
                out.extend_from_slice(self.dial.as_bytes());
                out.push(b' ');
                for (i, d) in digits.iter().enumerate() {
                    if i == 3 || i == 6 {
                        out.push(b'-');
                    }
                    out.push(*d);
                }
            }
            // `(415) 555 0132` with the country code as 00-prefix: leading zeros to strip.
            2 => {
                out.extend_from_slice(b"00");
                out.extend_from_slice(self.dial.as_bytes());
                out.extend_from_slice(b" (");
                out.extend_from_slice(&digits[..3]);
                out.extend_from_slice(b") ");
                out.extend_from_slice(&digits[3..]);
            }
            _ => {
                out.push(b'+');
                out.extend_from_slice(self.dial.as_bytes());
                out.extend_from_slice(&digits);
            }
        }
    }
}

const COUNTRIES: &[Country] = &[
    Country {
        code: "US",
        name: "United States",
        weight: 420,
        locale: "en-US",
        currency: "USD",
        dial: "1",
        national_digits: 10,
        cities: &[
            ("San Francisco", "CA", "California", "94107"),
            ("New York", "NY", "New York", "10001"),
            ("Austin", "TX", "Texas", "73301"),
            ("Chicago", "IL", "Illinois", "60601"),
            ("Seattle", "WA", "Washington", "98101"),
            ("Boston", "MA", "Massachusetts", "02108"),
            ("Miami", "FL", "Florida", "33101"),
            ("Denver", "CO", "Colorado", "80202"),
        ],
    },
    Country {
        code: "CA",
        name: "Canada",
        weight: 90,
        locale: "en-CA",
        currency: "CAD",
        dial: "1",
        national_digits: 10,
        cities: &[
            ("Toronto", "ON", "Ontario", "M5V 2T6"),
            ("Vancouver", "BC", "British Columbia", "V6B 1A1"),
            ("Montréal", "QC", "Québec", "H2X 1Y4"),
            ("Calgary", "AB", "Alberta", "T2P 1J9"),
        ],
    },
    Country {
        code: "GB",
        name: "United Kingdom",
        weight: 100,
        locale: "en-GB",
        currency: "GBP",
        dial: "44",
        national_digits: 10,
        cities: &[
            ("London", "ENG", "England", "SW1A 1AA"),
            ("Manchester", "ENG", "England", "M1 1AE"),
            ("Edinburgh", "SCT", "Scotland", "EH1 1YZ"),
        ],
    },
    Country {
        code: "DE",
        name: "Germany",
        weight: 80,
        locale: "de-DE",
        currency: "EUR",
        dial: "49",
        national_digits: 10,
        cities: &[
            ("Berlin", "BE", "Berlin", "10115"),
            ("München", "BY", "Bayern", "80331"),
            ("Köln", "NW", "Nordrhein-Westfalen", "50667"),
        ],
    },
    Country {
        code: "FR",
        name: "France",
        weight: 60,
        locale: "fr-FR",
        currency: "EUR",
        dial: "33",
        national_digits: 9,
        cities: &[
            ("Paris", "IDF", "Île-de-France", "75001"),
            ("Lyon", "ARA", "Auvergne-Rhône-Alpes", "69001"),
        ],
    },
    Country {
        code: "BR",
        name: "Brazil",
        weight: 50,
        locale: "pt-BR",
        currency: "BRL",
        dial: "55",
        national_digits: 11,
        cities: &[
            ("São Paulo", "SP", "São Paulo", "01000-000"),
            ("Rio de Janeiro", "RJ", "Rio de Janeiro", "20000-000"),
        ],
    },
    Country {
        code: "IN",
        name: "India",
        weight: 60,
        locale: "en-IN",
        currency: "INR",
        dial: "91",
        national_digits: 10,
        cities: &[
            ("Bengaluru", "KA", "Karnataka", "560001"),
            ("Mumbai", "MH", "Maharashtra", "400001"),
        ],
    },
    Country {
        code: "AU",
        name: "Australia",
        weight: 40,
        locale: "en-AU",
        currency: "AUD",
        dial: "61",
        national_digits: 9,
        cities: &[
            ("Sydney", "NSW", "New South Wales", "2000"),
            ("Melbourne", "VIC", "Victoria", "3000"),
        ],
    },
    Country {
        code: "JP",
        name: "Japan",
        weight: 30,
        locale: "ja-JP",
        currency: "JPY",
        dial: "81",
        national_digits: 10,
        cities: &[
            ("Tokyo", "13", "Tōkyō", "100-0001"),
            ("Osaka", "27", "Ōsaka", "530-0001"),
        ],
    },
    Country {
        code: "ES",
        name: "Spain",
        weight: 30,
        locale: "es-ES",
        currency: "EUR",
        dial: "34",
        national_digits: 9,
        cities: &[
            ("Madrid", "MD", "Comunidad de Madrid", "28001"),
            ("Barcelona", "CT", "Cataluña", "08001"),
        ],
    },
    Country {
        code: "MX",
        name: "Mexico",
        weight: 25,
        locale: "es-MX",
        currency: "MXN",
        dial: "52",
        national_digits: 10,
        cities: &[
            ("Ciudad de México", "CMX", "Ciudad de México", "06000"),
            ("Guadalajara", "JAL", "Jalisco", "44100"),
        ],
    },
    Country {
        code: "NL",
        name: "Netherlands",
        weight: 15,
        locale: "nl-NL",
        currency: "EUR",
        dial: "31",
        national_digits: 9,
        cities: &[
            ("Amsterdam", "NH", "Noord-Holland", "1012 AB"),
            ("Rotterdam", "ZH", "Zuid-Holland", "3011 AA"),
        ],
    },
];

/// (display name, ASCII form for email addresses)
const FIRST_NAMES: &[(&str, &str)] = &[
    ("Olivia", "olivia"),
    ("Liam", "liam"),
    ("Emma", "emma"),
    ("Noah", "noah"),
    ("Ava", "ava"),
    ("Mateo", "mateo"),
    ("Sofía", "sofia"),
    ("Lucas", "lucas"),
    ("Chloé", "chloe"),
    ("José", "jose"),
    ("María", "maria"),
    ("Zoë", "zoe"),
    ("François", "francois"),
    ("Søren", "soren"),
    ("Björn", "bjorn"),
    ("Anaïs", "anais"),
    ("Renée", "renee"),
    ("Priya", "priya"),
    ("Arjun", "arjun"),
    ("Yuki", "yuki"),
    ("Hiro", "hiro"),
    ("Wei", "wei"),
    ("Mei", "mei"),
    ("Fatima", "fatima"),
    ("Omar", "omar"),
    ("Aisha", "aisha"),
    ("Ethan", "ethan"),
    ("Mia", "mia"),
    ("James", "james"),
    ("Isabella", "isabella"),
    ("Benjamin", "benjamin"),
    ("Charlotte", "charlotte"),
    ("Jean-Luc", "jeanluc"),
    ("Mary-Kate", "marykate"),
    ("Lukas", "lukas"),
    ("Hannah", "hannah"),
    ("João", "joao"),
    ("Ana", "ana"),
    ("Carlos", "carlos"),
    ("Lucía", "lucia"),
    ("Daniel", "daniel"),
    ("Grace", "grace"),
    ("Samuel", "samuel"),
    ("Léa", "lea"),
    ("Ingrid", "ingrid"),
    ("Kenji", "kenji"),
    ("Ravi", "ravi"),
    ("Nora", "nora"),
];

/// (display name, ASCII form for email addresses)
const LAST_NAMES: &[(&str, &str)] = &[
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("García", "garcia"),
    ("Martínez", "martinez"),
    ("Müller", "muller"),
    ("Schmidt", "schmidt"),
    ("O'Brien", "obrien"),
    ("Nguyen", "nguyen"),
    ("Kim", "kim"),
    ("Tanaka", "tanaka"),
    ("Dubois", "dubois"),
    ("Lefèvre", "lefevre"),
    ("Rossi", "rossi"),
    ("Silva", "silva"),
    ("Santos", "santos"),
    ("Kowalski", "kowalski"),
    ("Núñez", "nunez"),
    ("Patel", "patel"),
    ("Sharma", "sharma"),
    ("Chen", "chen"),
    ("Wang", "wang"),
    ("Smith-Jones", "smithjones"),
    ("van der Berg", "vanderberg"),
    ("Jensen", "jensen"),
    ("Andersson", "andersson"),
    ("Okafor", "okafor"),
    ("Haddad", "haddad"),
    ("Cohen", "cohen"),
    ("Taylor", "taylor"),
    ("Wilson", "wilson"),
    ("Martin", "martin"),
    ("Lee", "lee"),
    ("Walker", "walker"),
    ("Hernández", "hernandez"),
    ("López", "lopez"),
    ("Suzuki", "suzuki"),
    ("Yamamoto", "yamamoto"),
    ("St. John", "stjohn"),
    ("MacDonald", "macdonald"),
    ("Ødegaard", "odegaard"),
];

const DOMAINS: &[&str] = &[
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "gmx.de",
    "orange.fr",
    "example.com",
    "acme-corp.com",
];

const PLANS: [&str; 3] = ["free", "pro", "enterprise"];

const DOCS: &[(&str, &str)] = &[
    ("getting-started", "Getting started"),
    ("api", "API reference"),
    ("segments", "Segments"),
    ("identity", "Identity resolution"),
    ("webhooks", "Webhooks"),
    ("csv-export", "CSV export"),
];

const BLOG: &[(&str, &str)] = &[
    ("cdp-at-the-edge", "A CDP at the edge"),
    ("identity-graphs", "Identity graphs explained"),
    ("retention-playbook", "The retention playbook"),
    ("pricing-update-2026", "Our 2026 pricing"),
    ("case-study-northwind", "Case study: Northwind"),
    ("privacy-by-design", "Privacy by design"),
    ("segment-recipes", "10 segment recipes"),
    ("release-notes-3-4", "Release notes 3.4"),
];

const REFERRERS: &[&str] = &[
    "https://www.google.com/",
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://t.co/",
    "https://www.facebook.com/",
    "https://www.linkedin.com/",
    "https://news.ycombinator.com/",
    "",
    "",
];

const PRODUCTS: u32 = 240;

const PRODUCT_NAMES: &[&str] = &[
    "Trail Running Shoes",
    "Merino Wool Socks",
    "Insulated Water Bottle",
    "Rain Jacket",
    "Hiking Backpack 30L",
    "Camping Stove",
    "Headlamp",
    "Down Sleeping Bag",
    "Trekking Poles",
    "Fleece Pullover",
    "Sun Hat",
    "Climbing Chalk Bag",
    "Yoga Mat",
    "Foam Roller",
    "Wireless Earbuds",
    "Smart Watch",
    "Espresso Grinder",
    "Pour-Over Kettle",
    "Ceramic Mug",
    "Cast Iron Skillet",
];

const CATEGORIES: &[&str] = &[
    "Footwear",
    "Apparel",
    "Outdoor",
    "Fitness",
    "Electronics",
    "Kitchen",
];

const SUBJECTS: &[&str] = &[
    "Your weekly picks",
    "New arrivals are here",
    "Last chance: 20% off",
    "Your cart misses you",
    "Tips to get started",
    "We updated our pricing",
];

const COMPANIES: &[&str] = &[
    "Northwind Traders",
    "Globex",
    "Initech",
    "Umbrella Outfitters",
    "Stark Supply",
    "Wayne Logistics",
    "Hooli",
    "Vandelay Industries",
    "Pied Piper",
    "Soylent Foods",
];

const INDUSTRIES: &[&str] = &[
    "Retail",
    "Software",
    "Logistics",
    "Healthcare",
    "Finance",
    "Media",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn lines(config: GeneratorConfig) -> Vec<u8> {
        let mut out = Vec::new();
        Generator::new(config).write_to(&mut out).unwrap();
        out
    }

    fn config(events: u64, seed: u64) -> GeneratorConfig {
        GeneratorConfig {
            events,
            seed,
            ..GeneratorConfig::default()
        }
    }

    #[test]
    fn same_seed_same_bytes_different_seed_different() {
        let a = lines(config(5_000, 42));
        assert_eq!(a, lines(config(5_000, 42)));
        assert_ne!(a, lines(config(5_000, 43)));
        // The iterator and the writer give the same lines.
        let joined: String = Generator::new(config(5_000, 42))
            .map(|l| l + "\n")
            .collect();
        assert_eq!(joined.as_bytes(), &a[..]);
    }

    #[test]
    fn writes_exactly_the_requested_count() {
        for n in [0, 1, 2, 17, 999, 20_000] {
            let out = lines(config(n, 5));
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count() as u64, n);
        }
    }

    #[test]
    fn shares_of_duplicates_malformed_and_late_lines_are_in_range() {
        let n = 100_000;
        let out = lines(config(n, 9));
        let text = std::str::from_utf8(&out).unwrap();
        let start = DEFAULT_START.0;
        let end = start + 90 * MS_PER_DAY;
        let mut seen = std::collections::HashSet::new();
        let (mut dups, mut bad, mut late, mut users) = (0, 0, 0, std::collections::HashSet::new());
        let mut last_time = i64::MIN;
        let mut with_sent_at = 0;
        for line in text.lines() {
            let Ok(Value::Object(m)) = serde_json::from_str::<Value>(line) else {
                bad += 1;
                continue;
            };
            let ty = m["type"].as_str().unwrap();
            let ts = m["timestamp"].as_str().unwrap();
            let Ok(t) = Timestamp::parse(ts) else {
                bad += 1;
                continue;
            };
            let ok_ids = m.contains_key("userId") || m.contains_key("anonymousId");
            let ok_props = m.get("properties").is_none_or(Value::is_object);
            let ok_event = ty != "track" || m.contains_key("event");
            if crate::event::CallType::from_name(ty).is_none() || !ok_ids || !ok_props || !ok_event
            {
                bad += 1;
                continue;
            }
            assert!(t.0 >= start && t.0 < end, "{line}");
            if m.contains_key("sentAt") {
                with_sent_at += 1;
            }
            if let Some(u) = m.get("userId") {
                users.insert(u.as_str().unwrap().to_owned());
            }
            let id = m["messageId"].as_str().unwrap().to_owned();
            if !seen.insert(id) {
                dups += 1;
            }
            if t.0 < last_time.saturating_sub(60_000) {
                late += 1;
            }
            last_time = last_time.max(t.0);
        }
        let share = |x: i32| f64::from(x) / n as f64;
        assert!((0.007..0.013).contains(&share(dups)), "duplicates {dups}");
        assert!((0.003..0.007).contains(&share(bad)), "malformed {bad}");
        assert!((0.005..0.04).contains(&share(late)), "late {late}");
        assert!(with_sent_at > 10_000);
        // About 20 events per profile: a few thousand identified users in 100k events.
        assert!(
            users.len() > 1_000 && users.len() < 5_000,
            "{}",
            users.len()
        );
    }

    #[test]
    fn content_covers_the_catalogue_of_calls() {
        let out = lines(config(50_000, 3));
        let text = std::str::from_utf8(&out).unwrap();
        for needle in [
            "\"type\":\"identify\"",
            "\"type\":\"page\"",
            "\"type\":\"screen\"",
            "\"type\":\"group\"",
            "\"type\":\"alias\"",
            "\"event\":\"Product Viewed\"",
            "\"event\":\"Product Added\"",
            "\"event\":\"Order Completed\"",
            "\"revenue\":\"",
            "\"event\":\"Email Opened\"",
            "\"event\":\"Email Clicked\"",
            "\"event\":\"Signed Up\"",
            "\"event\":\"Unsubscribed\"",
            "\"path\":\"/pricing\"",
            "\"path\":\"/docs/",
            "\"path\":\"/blog/",
            "\"path\":\"/signup\"",
            "\"path\":\"/product/",
            "\"country\":\"US\"",
            "\"country\":\"CA\"",
            "\"plan\":\"enterprise\"",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }

    #[test]
    fn planted_pattern_raises_conversion_after_pricing_visits() {
        // Conversion rate of identified users who saw /pricing 3+ times, planted vs not.
        fn orders(planted: bool) -> usize {
            let config = GeneratorConfig {
                planted,
                ..config(60_000, 11)
            };
            Generator::new(config)
                .filter(|l| l.contains("\"event\":\"Order Completed\""))
                .count()
        }
        let (plain, planted) = (orders(false), orders(true));
        assert!(planted > plain * 3 / 2, "{plain} vs {planted}");
    }
}
