//! Deterministic random numbers (SplitMix64 per seed, stream and index) and GUIDs.

use crate::*;

pub(crate) const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The SplitMix64 finaliser: a bijection of u64 with good avalanche.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64, started from (seed, stream, index): one independent sequence per thing.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn new(seed: u64, stream: u64, index: u64) -> Rng {
        Rng(mix64(mix64(seed ^ mix64(stream.wrapping_mul(GOLDEN))) ^ index))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }

    /// Uniform in 0..n (0 when n is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    pub(crate) fn below32(&mut self, n: u32) -> u32 {
        self.below(u64::from(n)) as u32
    }

    pub(crate) fn per_mille(&mut self, p: u64) -> bool {
        self.below(1000) < p
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A date in [from, to].
    pub(crate) fn date(&mut self, from: Date, to: Date) -> Date {
        Date(from.0 + self.below((to.0 - from.0 + 1) as u64) as i32)
    }
}

/// A version-4-shaped GUID, 36 lower-case characters, derived from (seed, stream, id).
pub(crate) fn guid(seed: u64, stream: u64, id: u32) -> String {
    let mut r = Rng::new(seed, stream, u64::from(id));
    let hi = (r.next() & !0xf000) | 0x4000;
    let lo = (r.next() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}
