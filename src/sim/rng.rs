//! Deterministic draws. Every random number of a run is a pure function of (seed, caller,
//! stream), so every strategy sees the same callers and the same outcomes, and the order in which
//! strategies or callers are simulated changes nothing.

/// What a draw is for. Each purpose has its own stream so adding one never shifts another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Arrival time of a call.
    Arrival,
    /// Whether the caller begins with text.
    TextFirst,
    /// A population flag, by its index.
    Flag(u8),
    /// The caller's fixed `u` for a component, by its index.
    Component(u16),
    /// Whether the caller's PSAP text-readiness advisory is wrong.
    PsapReport,
    /// The world generator's draws (`generate`), numbered in draw order.
    Generate,
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Arrival => 1,
            Stream::TextFirst => 2,
            Stream::PsapReport => 3,
            Stream::Generate => 4,
            Stream::Flag(i) => 0x100 + i as u64,
            Stream::Component(i) => 0x1_0000 + i as u64,
        }
    }
}

/// The SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijection on u64 with good avalanche.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) for `caller` and `stream` under `seed`.
pub fn uniform(seed: u64, caller: u64, stream: Stream) -> f64 {
    let z = mix(mix(mix(seed) ^ caller) ^ stream.id());
    // The top 53 bits make an exactly representable f64 in [0, 1).
    (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_uniform_and_repeatable() {
        let n = 100_000;
        let mean: f64 = (0..n)
            .map(|i| uniform(7, i, Stream::Component(3)))
            .sum::<f64>()
            / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert_eq!(
            uniform(7, 5, Stream::Arrival),
            uniform(7, 5, Stream::Arrival)
        );
        assert_ne!(
            uniform(7, 5, Stream::Arrival),
            uniform(8, 5, Stream::Arrival)
        );
        assert!((0..1000).all(|i| (0.0..1.0).contains(&uniform(1, i, Stream::TextFirst))));
    }
}
