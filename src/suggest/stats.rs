//! The arithmetic of suggestions: member sets as bitsets, quantiles, and the Wilson bound that
//! keeps data with no pattern from claiming a lift.

/// A set of profile indices as a bitset: intersections and counts are word operations.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Members {
    words: Vec<u64>,
}

impl Members {
    /// The members `indices` among `profile_count` profiles, or the first index that is out
    /// of range.
    pub(crate) fn from_indices(indices: &[u32], profile_count: usize) -> Result<Members, u32> {
        let mut words = vec![0u64; profile_count.div_ceil(64)];
        for &i in indices {
            if i as usize >= profile_count {
                return Err(i);
            }
            words[i as usize / 64] |= 1 << (i % 64);
        }
        Ok(Members { words })
    }

    /// How many profiles are members.
    pub(crate) fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The members of both sets.
    pub(crate) fn and(&self, other: &Members) -> Members {
        Members {
            words: self
                .words
                .iter()
                .zip(&other.words)
                .map(|(a, b)| a & b)
                .collect(),
        }
    }

    /// How many profiles are in both sets, without building the intersection.
    pub(crate) fn and_len(&self, other: &Members) -> usize {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a & b).count_ones() as usize)
            .sum()
    }

    /// How many profiles are in all three sets.
    pub(crate) fn and3_len(&self, b: &Members, c: &Members) -> usize {
        self.words
            .iter()
            .zip(&b.words)
            .zip(&c.words)
            .map(|((x, y), z)| (x & y & z).count_ones() as usize)
            .sum()
    }

    /// How many profiles are in either set.
    pub(crate) fn or_len(&self, other: &Members) -> usize {
        self.words
            .iter()
            .zip(&other.words)
            .map(|(a, b)| (a | b).count_ones() as usize)
            .sum()
    }
}

/// The nearest-rank quantile `q` (0..=1) of sorted values: always one of the values, so a
/// threshold taken from it is a number that occurs in the data.
pub(crate) fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The Wilson score lower bound of a proportion `hits / trials` at `z` standard deviations.
pub(crate) fn wilson_lower(hits: usize, trials: usize, z: f64) -> f64 {
    if trials == 0 {
        return 0.0;
    }
    let n = trials as f64;
    let p = hits as f64 / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - spread) / (1.0 + z2 / n)).max(0.0)
}

/// The one-sided normal quantile for a family-wise error `alpha` spread over `tests` tests
/// (Bonferroni), rounded to three decimals.
///
/// The rounding is there for determinism: `ln` and `sqrt` of the inverse are computed by the
/// platform's math library, which may differ in the last bit between native and wasm builds;
/// rounding makes every build use the same `z`.
pub(crate) fn bonferroni_z(alpha: f64, tests: usize) -> f64 {
    let p = 1.0 - alpha / tests.max(1) as f64;
    (inverse_normal(p) * 1000.0).round() / 1000.0
}

/// Peter Acklam's rational approximation of the standard normal quantile (relative error
/// below 1.2e-9), which is ample for choosing a confidence level.
fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_tables() {
        assert_eq!(bonferroni_z(0.05, 1), 1.645);
        assert_eq!(bonferroni_z(0.025, 1), 1.96);
        assert_eq!(bonferroni_z(0.05, 100), 3.291);
    }

    #[test]
    fn wilson_bound_is_below_the_rate_and_tightens_with_size() {
        let small = wilson_lower(5, 10, 1.96);
        let large = wilson_lower(500, 1000, 1.96);
        assert!(small < large && large < 0.5);
        assert_eq!(wilson_lower(0, 0, 1.96), 0.0);
    }

    #[test]
    fn quantiles_are_observed_values() {
        let v = [1, 2, 3, 4, 10];
        assert_eq!(quantile(&v, 0.5), Some(3));
        assert_eq!(quantile(&v, 0.9), Some(10));
        assert_eq!(quantile(&v, 0.0), Some(1));
        assert_eq!(quantile::<i32>(&[], 0.5), None);
    }

    #[test]
    fn bitsets_count_intersections() {
        let a = Members::from_indices(&[0, 3, 64, 100], 130).unwrap();
        let b = Members::from_indices(&[3, 100, 129], 130).unwrap();
        assert_eq!(a.len(), 4);
        assert_eq!(a.and_len(&b), 2);
        assert_eq!(a.and(&b).len(), 2);
        assert_eq!(a.or_len(&b), 5);
        assert_eq!(Members::from_indices(&[130], 130), Err(130));
    }
}
