//! What an operator says about one value: the Equality, Numbers and missing-value rules of
//! `segments.md`, written once for traits and property filters alike.

use super::definition::{Filter, Op, Operand, Scalar};
use crate::time::Timestamp;

/// A value read at a path, as the operators see it. `null` is [`ValueRef::Missing`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum ValueRef<'a> {
    Missing,
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Array(&'a [Element<'a>]),
    Object,
}

/// An array element: nested arrays and objects never equal anything, so they are all `Other`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Element<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Other,
}

/// The number a string stands for when it matches `^-?[0-9]+(\.[0-9]+)?$` in full.
pub(crate) fn numeric_str(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == int_start {
        return None;
    }
    if i < b.len() {
        if b[i] != b'.' {
            return None;
        }
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == frac_start || i != b.len() {
            return None;
        }
    }
    s.parse().ok()
}

/// A constant prepared for comparisons: lowercased once when the filter ignores case.
#[derive(Clone, Debug)]
enum Constant {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// A filter made ready for one evaluation: constants lowercased, time bounds fixed at `now`.
#[derive(Clone, Debug)]
pub(crate) struct Matcher {
    op: Op,
    ignore_case: bool,
    constants: Vec<Constant>,
    low: f64,
    high: f64,
    time: i64,
}

impl Matcher {
    pub(crate) fn new(filter: &Filter, now: i64) -> Matcher {
        let fold = |s: &str| {
            if filter.ignore_case {
                s.to_lowercase()
            } else {
                s.to_string()
            }
        };
        let constant = |s: &Scalar| match s {
            Scalar::Str(s) => Constant::Str(fold(s)),
            Scalar::Num(n) => Constant::Num(*n),
            Scalar::Bool(b) => Constant::Bool(*b),
        };
        let mut m = Matcher {
            op: filter.op,
            ignore_case: filter.ignore_case,
            constants: Vec::new(),
            low: 0.0,
            high: 0.0,
            time: 0,
        };
        match &filter.operand {
            Operand::None => {}
            Operand::Scalar(s) => m.constants.push(constant(s)),
            Operand::List(items) => m.constants = items.iter().map(constant).collect(),
            Operand::Str(s) => m.constants.push(Constant::Str(fold(s))),
            Operand::Num(n) => m.low = *n,
            Operand::Range(a, b) => (m.low, m.high) = (*a, *b),
            Operand::Time(t) => m.time = t.at(now),
        }
        m
    }

    fn fold<'s>(&self, s: &'s str) -> std::borrow::Cow<'s, str> {
        if self.ignore_case {
            std::borrow::Cow::Owned(s.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(s)
        }
    }

    fn element_eq(&self, c: &Constant, e: Element<'_>) -> bool {
        match (c, e) {
            (Constant::Str(c), Element::Str(s)) => *self.fold(s) == **c,
            (Constant::Num(c), Element::Num(n)) => n == *c,
            (Constant::Num(c), Element::Str(s)) => numeric_str(s) == Some(*c),
            (Constant::Bool(c), Element::Bool(b)) => b == *c,
            _ => false,
        }
    }

    fn scalar(v: ValueRef<'_>) -> Option<Element<'_>> {
        match v {
            ValueRef::Str(s) => Some(Element::Str(s)),
            ValueRef::Num(n) => Some(Element::Num(n)),
            ValueRef::Bool(b) => Some(Element::Bool(b)),
            _ => None,
        }
    }

    fn eq_any(&self, v: ValueRef<'_>) -> bool {
        Self::scalar(v).is_some_and(|e| self.constants.iter().any(|c| self.element_eq(c, e)))
    }

    fn contains(&self, v: ValueRef<'_>) -> bool {
        let Some(c) = self.constants.first() else {
            return false;
        };
        match (v, c) {
            (ValueRef::Str(s), Constant::Str(c)) => self.fold(s).contains(c.as_str()),
            (ValueRef::Array(items), _) => items.iter().any(|e| self.element_eq(c, *e)),
            _ => false,
        }
    }

    fn number(v: ValueRef<'_>) -> Option<f64> {
        match v {
            ValueRef::Num(n) => Some(n),
            ValueRef::Str(s) => numeric_str(s),
            _ => None,
        }
    }

    /// Whether the filter holds for `v`.
    pub(crate) fn test(&self, v: ValueRef<'_>) -> bool {
        let text = |f: fn(&str, &str) -> bool| match (v, self.constants.first()) {
            (ValueRef::Str(s), Some(Constant::Str(c))) => f(&self.fold(s), c),
            _ => false,
        };
        let num = |f: &dyn Fn(f64) -> bool| Self::number(v).is_some_and(f);
        let time = |f: fn(i64, i64) -> bool| match v {
            ValueRef::Str(s) => Timestamp::parse(s).is_ok_and(|t| f(t.0, self.time)),
            _ => false,
        };
        match self.op {
            Op::Exists => !matches!(v, ValueRef::Missing),
            Op::NotExists => matches!(v, ValueRef::Missing),
            Op::Eq | Op::In => self.eq_any(v),
            Op::Neq | Op::NotIn => !self.eq_any(v),
            Op::Contains => self.contains(v),
            Op::NotContains => !self.contains(v),
            Op::StartsWith => text(|s, c| s.starts_with(c)),
            Op::EndsWith => text(|s, c| s.ends_with(c)),
            Op::Gt => num(&|x| x > self.low),
            Op::Gte => num(&|x| x >= self.low),
            Op::Lt => num(&|x| x < self.low),
            Op::Lte => num(&|x| x <= self.low),
            Op::Between => num(&|x| self.low <= x && x <= self.high),
            Op::Before => time(|t, bound| t < bound),
            Op::After => time(|t, bound| t > bound),
        }
    }

    /// Whether the filter holds where the value is missing (or `null`).
    pub(crate) fn on_missing(&self) -> bool {
        self.test(ValueRef::Missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_strings_follow_the_pattern() {
        assert_eq!(numeric_str("49.99"), Some(49.99));
        assert_eq!(numeric_str("-3"), Some(-3.0));
        for bad in [
            "", "-", "1.", ".5", "1e3", "+1", " 1", "1 ", "0x10", "1.2.3",
        ] {
            assert_eq!(numeric_str(bad), None, "{bad}");
        }
    }
}
