//! Where a message's quotes are, found a vector at a time before the fast scanner reads it.
//!
//! The scanner's costliest step was finding where each string ends: a loop over its bytes whose
//! exit, at a length no branch predictor guesses, came once per string (some sixty a message).
//! With a bitmap of the quotes made in one pass over the line, a string's end is the next set
//! bit. The same pass tells whether the line holds a backslash or a control byte, which the
//! fast scanner leaves to the strict parser (escapes, and control bytes that are only valid as
//! whitespace).
//!
//! On x86-64 the pass uses AVX2 where the processor has it and SSE2 (which every x86-64
//! processor has) otherwise; elsewhere (wasm32 among them) eight bytes at a time in plain
//! integer arithmetic. All give the same bits.

/// Fills `bits` with one bit per byte of `text`, set where the byte is a `"` (bit `i % 64` of
/// word `i / 64`). Returns `false` when `text` holds a backslash or a byte below 0x20.
pub(crate) fn index_quotes(text: &[u8], bits: &mut Vec<u64>) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, just checked (the answer is cached by std).
        return unsafe { index_quotes_avx2(text, bits) };
    }
    index_blocks(text, bits, block_masks)
}

/// [`index_quotes`] with each block's masks from `masks`; inlined into each instruction set's
/// caller, so that `masks` is inlined too.
#[inline(always)]
fn index_blocks(text: &[u8], bits: &mut Vec<u64>, masks: impl Fn(&[u8; 64]) -> (u64, u64)) -> bool {
    bits.clear();
    let mut blocks = text.chunks_exact(64);
    let mut odd = 0;
    for block in &mut blocks {
        let block: &[u8; 64] = block.try_into().expect("chunks of 64 bytes");
        let (quotes, o) = masks(block);
        bits.push(quotes);
        odd |= o;
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        // Padded with spaces: no quote, nothing odd.
        let mut last = [b' '; 64];
        last[..rest.len()].copy_from_slice(rest);
        let (quotes, o) = masks(&last);
        bits.push(quotes);
        odd |= o;
    }
    odd == 0
}

/// [`index_quotes`] 32 bytes a step, where the processor has AVX2 (most x86-64 processors
/// since 2013): half the instructions of SSE2's 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn index_quotes_avx2(text: &[u8], bits: &mut Vec<u64>) -> bool {
    use std::arch::x86_64::{
        _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };
    let quote = _mm256_set1_epi8(b'"' as i8);
    let backslash = _mm256_set1_epi8(b'\\' as i8);
    let last_control = _mm256_set1_epi8(0x1f);
    index_blocks(text, bits, |block| {
        let (mut quotes, mut odd) = (0u64, 0u64);
        for k in 0..2 {
            // SAFETY: bytes `32 * k..32 * k + 32` lie in the block, and the load needs no
            // alignment.
            let v = unsafe { _mm256_loadu_si256(block[32 * k..].as_ptr().cast()) };
            // Bytes at most 0x1f are those the unsigned minimum with 0x1f leaves unchanged.
            let control = _mm256_cmpeq_epi8(_mm256_min_epu8(v, last_control), v);
            let q = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, quote)) as u32;
            let o = _mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(v, backslash), control));
            quotes |= u64::from(q) << (32 * k);
            odd |= u64::from(o as u32);
        }
        (quotes, odd)
    })
}

/// The first quote at or after byte `from`, given the bitmap of [`index_quotes`].
pub(crate) fn next_quote(bits: &[u64], from: usize) -> Option<usize> {
    let mut word = from / 64;
    let mut found = bits.get(word)? & (u64::MAX << (from % 64));
    while found == 0 {
        word += 1;
        found = *bits.get(word)?;
    }
    Some(word * 64 + found.trailing_zeros() as usize)
}

/// For a block of 64 bytes: its quotes, as bits; and nonzero when it holds a backslash or a
/// control byte.
#[cfg(target_arch = "x86_64")]
fn block_masks(block: &[u8; 64]) -> (u64, u64) {
    // SAFETY: SSE2 is part of the x86-64 baseline: every processor this runs on has it.
    unsafe { sse2_block_masks(block) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn sse2_block_masks(block: &[u8; 64]) -> (u64, u64) {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let quote = _mm_set1_epi8(b'"' as i8);
    let backslash = _mm_set1_epi8(b'\\' as i8);
    let last_control = _mm_set1_epi8(0x1f);
    let (mut quotes, mut odd) = (0u64, 0u64);
    for k in 0..4 {
        // SAFETY: bytes `16 * k..16 * k + 16` lie in the block, and the load needs no alignment.
        let v = unsafe { _mm_loadu_si128(block[16 * k..].as_ptr().cast()) };
        // Bytes at most 0x1f are those the unsigned minimum with 0x1f leaves unchanged.
        let control = _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v);
        let q = _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u16;
        let o = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, backslash), control)) as u16;
        quotes |= u64::from(q) << (16 * k);
        odd |= u64::from(o);
    }
    (quotes, odd)
}

#[cfg(not(target_arch = "x86_64"))]
fn block_masks(block: &[u8; 64]) -> (u64, u64) {
    portable_block_masks(block)
}

/// [`block_masks`] eight bytes at a time in integer arithmetic.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn portable_block_masks(block: &[u8; 64]) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each zero byte of `w`, exactly (no borrow from a lower byte).
    let zero_bytes = |w: u64| !(((w & LOWS) + LOWS) | w | LOWS);
    let (mut quotes, mut odd) = (0u64, 0u64);
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let q = zero_bytes(w ^ (ONES * u64::from(b'"')));
        // One bit per byte, gathered into the top byte by the multiply, in byte order.
        let gathered = ((q >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) & 0xff;
        quotes |= gathered << (8 * k);
        // Any byte below 0x20 (the "has less" trick: exact about whether there is one).
        let control = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
        odd |= zero_bytes(w ^ (ONES * u64::from(b'\\'))) | control;
    }
    (quotes, odd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bitmap and verdict, byte by byte.
    fn reference(text: &[u8]) -> (Vec<u64>, bool) {
        let mut bits = vec![0u64; text.len().div_ceil(64)];
        for (i, &b) in text.iter().enumerate() {
            if b == b'"' {
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        (bits, !text.iter().any(|&b| b == b'\\' || b < 0x20))
    }

    #[test]
    fn both_ways_agree_with_a_byte_by_byte_reading() {
        // Every byte value at every position of a block, among quotes and plain text.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = [
            b'"', b'\\', b'a', b' ', 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xff, 0, b'#',
        ];
        for len in 0..300 {
            let text: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let mut bits = Vec::new();
            let clean = index_quotes(&text, &mut bits);
            assert_eq!((bits.clone(), clean), reference(&text), "{text:?}");
            // The baseline path, whatever `index_quotes` chose on this processor.
            let clean = index_blocks(&text, &mut bits, block_masks);
            assert_eq!((bits.clone(), clean), reference(&text), "{text:?}");
            let mut portable = Vec::new();
            let mut odd = 0;
            for block in text.chunks(64) {
                let mut padded = [b' '; 64];
                padded[..block.len()].copy_from_slice(block);
                let (q, o) = portable_block_masks(&padded);
                portable.push(q);
                odd |= o;
            }
            assert_eq!((portable, odd == 0), reference(&text), "{text:?}");
        }
        for b in 0..=255u8 {
            let block = [b; 64];
            let (q, o) = portable_block_masks(&block);
            let (vq, vo) = block_masks(&block);
            assert_eq!((q, o != 0), (vq, vo != 0), "byte {b:#x}");
            assert_eq!(q == u64::MAX, b == b'"');
            assert_eq!(o != 0, b == b'\\' || b < 0x20);
        }
    }

    #[test]
    fn next_quote_finds_the_first_at_or_after() {
        let text = format!("\"{}\"ab\"", "x".repeat(100));
        let mut bits = Vec::new();
        assert!(index_quotes(text.as_bytes(), &mut bits));
        assert_eq!(next_quote(&bits, 0), Some(0));
        assert_eq!(next_quote(&bits, 1), Some(101));
        assert_eq!(next_quote(&bits, 102), Some(104));
        assert_eq!(next_quote(&bits, 105), None);
        assert_eq!(next_quote(&bits, 1000), None);
    }
}
