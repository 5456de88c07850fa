//! Part sizes and byte ranges: how a file of any size is cut so it fits S3's multipart limits.
//!
//! Invariants: every part but the last is `part_size` long; 5 MiB ≤ part_size ≤ 5 GiB; at most
//! 10,000 parts. The same plan is used for upload parts and download ranges, so a resumed transfer
//! recomputes exactly the ranges it committed before.
//!
//! Under a bandwidth cap, the parts in flight are what a pause or quit may lose: they are sized and
//! counted so that together they take about [`CAPPED_FLIGHT`] at the cap ([`paced_part_size`],
//! [`parts_in_flight`], [`flight_budget`]), not the whole file.

use std::time::Duration;

use crate::error::{Error, Result};

pub const MIB: u64 = 1024 * 1024;
pub const GIB: u64 = 1024 * MIB;
pub const MIN_PART_SIZE: u64 = 5 * MIB;
pub const MAX_PART_SIZE: u64 = 5 * GIB;
pub const MAX_PARTS: u64 = 10_000;
/// The part size used when the user sets none and the file is small enough for it.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;
/// Above this many bytes a single PutObject would buffer too much; multipart is used instead even when
/// the chosen part size is larger.
pub const MAX_SINGLE_PUT: u64 = 16 * MIB;

/// One part (upload) or range (download): 1-based number, offset, length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub number: u32,
    pub offset: u64,
    pub len: u64,
}

/// Under a bandwidth cap, the parts in flight together take about this long to send at the cap: a
/// pause or quit loses at most this much work, and each part finishes in seconds.
pub const CAPPED_FLIGHT: Duration = Duration::from_secs(4);

/// The bytes that may be in flight at once across the engine under a cap of `rate` bytes per second
/// ([`CAPPED_FLIGHT`] of it); `None` without a cap. A part larger than this still goes, alone.
pub fn flight_budget(rate: Option<u64>) -> Option<u64> {
    rate.filter(|r| *r > 0)
        .map(|r| (r as f64 * CAPPED_FLIGHT.as_secs_f64()) as u64)
}

/// How many parts of `part_size` bytes one transfer keeps in flight: the user's `configured` count,
/// fewer under a cap so that they fit in [`flight_budget`], never less than one.
pub fn parts_in_flight(configured: usize, part_size: u64, rate: Option<u64>) -> usize {
    let configured = configured.max(1);
    match flight_budget(rate) {
        None => configured,
        Some(budget) => ((budget / part_size.max(1)) as usize).clamp(1, configured),
    }
}

/// The part size of a new upload or download of `size` bytes under a cap of `rate` bytes per second:
/// what [`part_size`] chooses, but when that is left to Ferry and the cap is set, small enough that
/// two parts fit in [`flight_budget`] (within S3's rules: at least 5 MiB, at most 10,000 parts). A
/// file that takes no longer than the budget at the cap goes as it would without one. The user's
/// own part size is kept (fewer of its parts are then in flight).
pub fn paced_part_size(size: u64, requested: Option<u64>, rate: Option<u64>) -> Result<u64> {
    let p = part_size(size, requested)?;
    let (Some(budget), None) = (flight_budget(rate), requested) else {
        return Ok(p);
    };
    if size <= budget.max(MIN_PART_SIZE) {
        return Ok(p);
    }
    let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
    let paced = (budget / 2 / MIB * MIB).max(MIN_PART_SIZE).max(needed);
    Ok(p.min(paced))
}

/// Chooses the part size for a file of `size` bytes, honouring the user's choice when it fits.
pub fn part_size(size: u64, requested: Option<u64>) -> Result<u64> {
    if let Some(p) = requested {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&p) {
            return Err(Error::invalid(format!(
                "part size {} is outside S3's limits: choose between 5 MiB and 5 GiB",
                crate::format::human_bytes(p)
            )));
        }
        let parts = size.div_ceil(p);
        if parts > MAX_PARTS {
            return Err(Error::invalid(format!(
                "a part size of {} cuts this {} file into {parts} parts, more than S3's 10,000; use at least {} or leave --part-size unset",
                crate::format::human_bytes(p),
                crate::format::human_bytes(size),
                crate::format::human_bytes(size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB)
            )));
        }
        return Ok(p);
    }
    let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
    let p = needed.max(DEFAULT_PART_SIZE);
    if size <= MAX_SINGLE_PUT {
        // Whole: one PutObject instead of create + parts + complete (a server that assembles
        // parts reads and hashes them a second time), one GET instead of ranges and a HEAD.
        return Ok(p.max(size));
    }
    if p > MAX_PART_SIZE {
        return Err(Error::invalid(format!(
            "{} is larger than S3's largest object (10,000 parts of 5 GiB)",
            crate::format::human_bytes(size)
        )));
    }
    Ok(p)
}

/// The part size of a server-side multipart copy: the user's choice when it fits, else larger
/// parts than an upload's (no part passes through memory here, and fewer parts are fewer requests).
pub fn copy_part_size(size: u64, requested: Option<u64>) -> Result<u64> {
    match requested {
        Some(_) => part_size(size, requested),
        None => Ok(part_size(size, None)?.max(COPY_PART_SIZE)),
    }
}

/// The least part size of a server-side multipart copy unless the user chooses.
pub const COPY_PART_SIZE: u64 = 128 * MIB;

/// Whether a file of `size` bytes is sent as one PutObject rather than a multipart upload.
pub fn is_single_put(size: u64, part_size: u64) -> bool {
    size <= part_size.min(MAX_SINGLE_PUT)
}

/// The parts of a `size`-byte file cut at `part_size`. A 0-byte file has no parts.
pub fn parts(size: u64, part_size: u64) -> Vec<Part> {
    assert!(part_size > 0);
    let count = size.div_ceil(part_size);
    (0..count)
        .map(|i| {
            let offset = i * part_size;
            Part {
                number: (i + 1) as u32,
                offset,
                len: part_size.min(size - offset),
            }
        })
        .collect()
}

/// Parses sizes like `8MiB`, `8M`, `5242880`, `1.5GB` (binary units for K/M/G/T).
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        Error::invalid(format!(
            "`{s}` is not a size; write it like 8MiB, 64M or 1048576"
        ))
    })?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => GIB,
        "t" | "tb" | "tib" => 1024 * GIB,
        _ => {
            return Err(Error::invalid(format!(
                "`{s}` has an unknown unit; use B, KiB, MiB, GiB or TiB"
            )))
        }
    };
    Ok((n * mult as f64).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_takes_large_parts_unless_told() {
        assert_eq!(copy_part_size(6 * GIB, None).unwrap(), COPY_PART_SIZE);
        assert_eq!(copy_part_size(6 * GIB, Some(5 * MIB)).unwrap(), 5 * MIB);
        // 5 TB needs parts of over 500 MiB to stay within 10,000.
        assert_eq!(copy_part_size(5_000 * GIB, None).unwrap(), 512 * MIB);
        assert!(copy_part_size(GIB, Some(MIB)).is_err());
    }

    #[test]
    fn parts_cover_the_file_exactly_at_and_around_boundaries() {
        let p = 5 * MIB;
        for size in [0, 1, p - 1, p, p + 1, 2 * p - 1, 2 * p, 2 * p + 1] {
            let ps = parts(size, p);
            assert_eq!(ps.iter().map(|x| x.len).sum::<u64>(), size);
            assert_eq!(ps.len() as u64, size.div_ceil(p));
            for (i, x) in ps.iter().enumerate() {
                assert_eq!(x.number as usize, i + 1);
                assert_eq!(x.offset, i as u64 * p);
                assert!(x.len > 0 && x.len <= p);
            }
        }
    }

    #[test]
    fn auto_part_size_fits_any_file_up_to_the_s3_limit() {
        assert_eq!(part_size(0, None).unwrap(), DEFAULT_PART_SIZE);
        assert_eq!(part_size(GIB, None).unwrap(), DEFAULT_PART_SIZE);
        // Files up to MAX_SINGLE_PUT go whole.
        assert_eq!(part_size(10 * MIB, None).unwrap(), 10 * MIB);
        assert!(is_single_put(10 * MIB, part_size(10 * MIB, None).unwrap()));
        assert_eq!(parts(10 * MIB, part_size(10 * MIB, None).unwrap()).len(), 1);
        assert_eq!(part_size(MAX_SINGLE_PUT, None).unwrap(), MAX_SINGLE_PUT);
        assert_eq!(
            part_size(MAX_SINGLE_PUT + 1, None).unwrap(),
            DEFAULT_PART_SIZE
        );
        for size in [100 * GIB, 1024 * GIB, 48 * 1024 * GIB] {
            let p = part_size(size, None).unwrap();
            assert!((MIN_PART_SIZE..=MAX_PART_SIZE).contains(&p));
            assert!(size.div_ceil(p) <= MAX_PARTS, "{size} {p}");
        }
        assert!(part_size(50 * 1024 * GIB, None).is_err());
    }

    #[test]
    fn user_part_size_outside_limits_is_refused_with_a_fix() {
        let e = part_size(10, Some(MIB)).unwrap_err();
        assert!(e.message.contains("5 MiB and 5 GiB"), "{}", e.message);
        let e = part_size(100 * GIB, Some(5 * MIB)).unwrap_err();
        assert!(e.message.contains("10,000"), "{}", e.message);
        assert_eq!(part_size(100 * MIB, Some(5 * MIB)).unwrap(), 5 * MIB);
    }

    #[test]
    fn single_put_threshold_never_buffers_more_than_16_mib() {
        assert!(is_single_put(5 * MIB, 5 * MIB));
        assert!(!is_single_put(5 * MIB + 1, 5 * MIB));
        assert!(!is_single_put(17 * MIB, GIB));
        assert!(is_single_put(0, 5 * MIB));
    }

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("8MiB").unwrap(), 8 * MIB);
        assert_eq!(parse_size("5M").unwrap(), 5 * MIB);
        assert_eq!(parse_size("1048576").unwrap(), MIB);
        assert_eq!(parse_size("1.5G").unwrap(), GIB + GIB / 2);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("3XB").is_err());
    }

    #[test]
    fn under_a_cap_the_parts_in_flight_take_a_few_seconds_of_it() {
        // 3 MiB/s: two 6 MiB parts at a time, not eight 8 MiB ones.
        let rate = Some(3 * MIB);
        assert_eq!(flight_budget(rate), Some(12 * MIB));
        let p = paced_part_size(60 * MIB, None, rate).unwrap();
        assert_eq!(p, 6 * MIB);
        assert_eq!(parts_in_flight(8, p, rate), 2);
        // 1 MiB/s: S3's smallest part, one at a time.
        let p = paced_part_size(60 * MIB, None, Some(MIB)).unwrap();
        assert_eq!(p, MIN_PART_SIZE);
        assert_eq!(parts_in_flight(8, p, Some(MIB)), 1);
        // A file the cap sends within the budget goes whole, as without a cap.
        assert_eq!(
            paced_part_size(10 * MIB, None, Some(3 * MIB)).unwrap(),
            10 * MIB
        );
        // A fast cap changes nothing: 8 MiB parts, the configured count.
        let fast = Some(100 * MIB);
        assert_eq!(paced_part_size(GIB, None, fast).unwrap(), DEFAULT_PART_SIZE);
        assert_eq!(parts_in_flight(8, DEFAULT_PART_SIZE, fast), 8);
        // No cap: the configured count, whatever the part size.
        assert_eq!(parts_in_flight(8, 5 * GIB, None), 8);
    }

    #[test]
    fn parts_planned_larger_keep_their_size_and_go_fewer_at_a_time() {
        // The user's part size, or one planned before the cap: kept, one at a time under a slow cap.
        assert_eq!(
            paced_part_size(GIB, Some(64 * MIB), Some(MIB)).unwrap(),
            64 * MIB
        );
        assert_eq!(parts_in_flight(8, 64 * MIB, Some(MIB)), 1);
        assert_eq!(parts_in_flight(8, 8 * MIB, Some(3 * MIB)), 1);
        assert_eq!(parts_in_flight(0, 8 * MIB, None), 1);
    }

    /// The largest object S3 can hold: 10,000 parts of 5 GiB (about 53.7 TB).
    const LARGEST: u64 = MAX_PARTS * MAX_PART_SIZE;

    /// The parts cover the file exactly once, in order, none empty, none larger than the part size.
    fn assert_covers(size: u64, part_size: u64) {
        let parts = parts(size, part_size);
        let mut next = 0;
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p.number as usize, i + 1);
            assert_eq!(p.offset, next);
            assert!(p.len > 0 && p.len <= part_size);
            next += p.len;
        }
        assert_eq!(next, size);
    }

    proptest::proptest! {
        #[test]
        fn every_size_up_to_the_largest_object_gets_parts_within_s3s_limits(size in 0..=LARGEST) {
            let p = part_size(size, None).unwrap();
            if size > MAX_SINGLE_PUT {
                proptest::prop_assert!((MIN_PART_SIZE..=MAX_PART_SIZE).contains(&p));
                proptest::prop_assert!(size.div_ceil(p) <= MAX_PARTS);
            } else {
                proptest::prop_assert!(is_single_put(size, p));
            }
            assert_covers(size, p);
        }

        #[test]
        fn a_requested_part_size_is_kept_or_refused_with_a_reason(
            size in 0..=LARGEST,
            requested in 0..=(2 * MAX_PART_SIZE),
        ) {
            match part_size(size, Some(requested)) {
                Ok(p) => {
                    proptest::prop_assert_eq!(p, requested);
                    proptest::prop_assert!(size.div_ceil(p) <= MAX_PARTS);
                    assert_covers(size, p);
                }
                Err(e) => proptest::prop_assert!(
                    !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&requested)
                        || size.div_ceil(requested) > MAX_PARTS,
                    "refused a part size that fits: {}", e.message
                ),
            }
        }

        #[test]
        fn a_paced_part_size_stays_within_s3s_limits_and_the_budget(
            size in 0..=LARGEST,
            rate in 1u64..=(64 * MIB),
        ) {
            let p = paced_part_size(size, None, Some(rate)).unwrap();
            let auto = part_size(size, None).unwrap();
            proptest::prop_assert!(p <= auto);
            if size > MAX_SINGLE_PUT || !is_single_put(size, p) {
                proptest::prop_assert!((MIN_PART_SIZE..=MAX_PART_SIZE).contains(&p));
                proptest::prop_assert!(size.div_ceil(p) <= MAX_PARTS);
            }
            let budget = flight_budget(Some(rate)).unwrap();
            let n = parts_in_flight(8, p, Some(rate)) as u64;
            // At least one part; more only while they fit in the budget.
            proptest::prop_assert!(n >= 1 && (n == 1 || n * p <= budget));
            assert_covers(size, p);
        }

        #[test]
        fn sizes_parse_in_every_unit(n in 0u64..1_000_000, unit in 0usize..5) {
            let (suffix, mult) = [("", 1), ("KiB", 1024), ("M", MIB), ("GB", GIB), ("tib", 1024 * GIB)][unit];
            proptest::prop_assert_eq!(parse_size(&format!("{n}{suffix}")).unwrap(), n * mult);
        }

        #[test]
        fn a_size_that_is_not_one_is_refused(s in "[0-9]*[a-zA-Z ]+[0-9a-z]*") {
            if let Ok(n) = parse_size(&s) {
                // Only a number with a known unit parses.
                let unit = s.trim_start_matches(|c: char| c.is_ascii_digit()).trim().to_ascii_lowercase();
                proptest::prop_assert!(["", "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", "t", "tb", "tib"].contains(&unit.as_str()), "{s} parsed as {n}");
            }
        }
    }
}
