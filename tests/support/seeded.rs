//! Seeded pseudo-randomness for test data, kill moments and injected faults: the same seed gives the
//! same run, so a failure can be replayed.

/// A xorshift64 sequence.
pub struct Xorshift(u64);

impl Xorshift {
    pub fn new(seed: u64) -> Xorshift {
        // Xorshift never leaves zero.
        Xorshift(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A fault that strikes with chance `per_mille`/1000, at most `budget` times.
pub struct Chance {
    rng: Xorshift,
    per_mille: u64,
    left: usize,
}

impl Chance {
    pub fn new(seed: u64, per_mille: u64, budget: usize) -> Chance {
        Chance {
            rng: Xorshift::new(seed),
            per_mille,
            left: budget,
        }
    }

    /// Rolls once (not at all once the budget is spent); when the fault strikes, spends one of the
    /// budget and returns the roll, whose high bits the caller may use to shape the fault.
    pub fn strike(&mut self) -> Option<u64> {
        if self.left == 0 {
            return None;
        }
        let roll = self.rng.next();
        if roll % 1000 >= self.per_mille {
            return None;
        }
        self.left -= 1;
        Some(roll)
    }
}
