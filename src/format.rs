//! How sizes, durations and ids are written for people, in both shells.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses durations like `90s`, `15m`, `1h`, `7d`, `3600`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        Error::invalid(format!(
            "`{s}` is not a duration; write it like 15m, 1h or 7d"
        ))
    })?;
    let unit_secs: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => {
            return Err(Error::invalid(format!(
                "`{s}` has an unknown unit; use s, m, h or d"
            )))
        }
    };
    let secs = n
        .checked_mul(unit_secs)
        .ok_or_else(|| Error::invalid(format!("`{s}` is longer than any link can last")))?;
    Ok(Duration::from_secs(secs))
}

pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

/// Formats a byte count for people: `12.3 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// The last 8 characters of an id: enough to name a transfer on a command line.
pub fn short_id(id: &str) -> &str {
    // UUIDv7 ids share their leading timestamp; the random tail tells transfers of one batch apart.
    let tail = id.rsplit('-').next().unwrap_or(id);
    if tail.len() >= 8 {
        &tail[tail.len() - 8..]
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(
            parse_duration("7d").unwrap(),
            crate::config::MAX_LINK_EXPIRY
        );
        assert!(parse_duration("1w").is_err());
        assert_eq!(human_duration(Duration::from_secs(3700)), "1h01m");
    }

    proptest::proptest! {
        #[test]
        fn durations_in_each_unit_parse_to_their_length(n in 1u64..=7, unit in 0usize..4) {
            let (suffix, secs) = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)][unit];
            let d = parse_duration(&format!("{n}{suffix}"));
            match d {
                Ok(d) => proptest::prop_assert_eq!(d, Duration::from_secs(n * secs)),
                Err(e) => proptest::prop_assert!(false, "{n}{suffix}: {}", e.message),
            }
        }

        #[test]
        fn any_number_of_any_unit_parses_or_is_refused_never_panics(n: u64, unit in 0usize..4) {
            let text = format!("{n}{}", ["s", "m", "h", "d"][unit]);
            let _ = parse_duration(&text);
        }

        #[test]
        fn a_duration_that_is_not_one_is_refused(s in "[a-z ]*[0-9]*[a-ce-gi-ln-rt-z]+") {
            proptest::prop_assert!(parse_duration(&s).is_err(), "{s} parsed");
        }
    }
}
