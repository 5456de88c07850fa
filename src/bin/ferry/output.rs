//! What the CLI prints that is not one command's own: the progress display and summary of a run,
//! and times.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use ferry::format::{human_bytes, short_id};
use ferry::{Engine, Enqueued, Error, ErrorKind, RunStats, State};

use crate::exit_code;

/// A Unix time as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn format_time(unix: i64) -> String {
    let t = aws_smithy_types::DateTime::from_secs(unix)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default();
    // RFC 3339 (`2026-12-03T07:00:00Z`), shown with a space and without the zone letter.
    t.trim_end_matches('Z').replacen('T', " ", 1)
}

/// Runs the enqueued transfers with a progress display, pausing cleanly on Ctrl-C.
pub(crate) async fn drive(engine: &Engine, enq: Enqueued, json: bool) -> Result<ExitCode, Error> {
    for s in &enq.skipped {
        if json {
            println!(
                "{}",
                serde_json::json!({"type": "skipped", "what": s.what, "reason": s.reason})
            );
        } else {
            eprintln!("ferry: skipped {}: {}", s.what, s.reason);
        }
    }
    if enq.ids.is_empty() {
        if !json {
            println!("nothing to transfer");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if enq.resumed > 0 && !json {
        eprintln!(
            "resuming {} unfinished transfer{}",
            enq.resumed,
            if enq.resumed == 1 { "" } else { "s" }
        );
    }
    let started = Instant::now();
    let mut progress = engine.subscribe_progress();
    let ids = enq.ids;
    // Only what is needed for the bar and the summary is kept: totals, and a counter per transfer
    // while it runs; nothing per queued file beyond its id.
    let (_, total) = engine.totals(&ids)?;
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("static template"),
        );
        bar
    });
    let mut outcomes = engine.run_each(ids.clone());
    // Bytes done of the transfers running now, and of those whose run ended.
    let mut live: std::collections::HashMap<String, u64> = Default::default();
    let mut ended_done: u64 = 0;
    let mut interrupted = false;
    let mut stats = RunStats::default();
    let mut ran = 0usize;
    let mut failed = Vec::new();
    let mut paused = Vec::new();
    // Finished downloads by the server checksum they were verified against (None: nothing to check).
    let mut verified: std::collections::BTreeMap<Option<&str>, usize> = Default::default();
    loop {
        tokio::select! {
            outcome = outcomes.recv() => {
                let Some(o) = outcome else { break };
                ran += 1;
                match o.result {
                    Ok(s) => {
                        if s.download {
                            *verified.entry(s.verified).or_default() += 1;
                        }
                        stats.bytes_total += s.bytes_total;
                        stats.bytes_sent += s.bytes_sent;
                        stats.parts_total += s.parts_total;
                        stats.parts_reused += s.parts_reused;
                        stats.parts_sent += s.parts_sent;
                    }
                    Err(e) if e.kind == ErrorKind::Interrupted => paused.push(o.id),
                    Err(e) => failed.push((o.id, e)),
                }
            }
            snaps = progress.recv() => {
                let Ok(snaps) = snaps else { continue };
                let mut speed = 0.0;
                for s in snaps.iter() {
                    if s.ended {
                        live.remove(&s.id);
                        ended_done += s.bytes_done;
                    } else {
                        live.insert(s.id.clone(), s.bytes_done);
                    }
                    speed += s.speed;
                }
                let done = (ended_done + live.values().sum::<u64>()).min(total);
                if json {
                    println!("{}", serde_json::json!({"type": "progress", "bytes_done": done, "bytes_total": total,
                        "speed": speed, "eta_secs": if speed > 0.0 { Some((total - done) as f64 / speed) } else { None },
                        "transfers": &*snaps}));
                } else if let Some(b) = &bar {
                    b.set_position(done);
                }
            }
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                engine.pause_running_here();
                for id in &ids {
                    let _ = engine.pause(id);
                }
            }
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    let completed = ran - failed.len() - paused.len();
    if json {
        println!(
            "{}",
            serde_json::json!({"type": "summary", "completed": completed, "failed": failed.len(), "paused": paused.len(),
                "bytes_total": stats.bytes_total, "bytes_sent": stats.bytes_sent, "parts_total": stats.parts_total,
                "parts_reused": stats.parts_reused, "parts_sent": stats.parts_sent, "seconds": secs,
                "verified": verified.iter().filter_map(|(k, n)| k.map(|k| (k, *n))).collect::<std::collections::BTreeMap<_, _>>(),
                "unverified": verified.get(&None).copied().unwrap_or(0),
                "ids": ids, "errors": failed.iter().map(|(id, e)| serde_json::json!({"id": id, "kind": e.kind, "message": e.message})).collect::<Vec<_>>()})
        );
    } else {
        for (id, e) in &failed {
            // A download that hit a local disk problem is paused, not failed: it continues where it
            // stopped once the problem is fixed.
            let how = match engine.transfer(id).map(|r| r.state) {
                Ok(State::Paused) => "paused",
                _ => "failed",
            };
            eprintln!("ferry: {} {how}: {}", short_id(id), e.message);
        }
        let speed = if secs > 0.0 {
            stats.bytes_sent as f64 / secs
        } else {
            0.0
        };
        println!(
            "{completed} of {ran} done: {} in {:.1}s ({}/s){}",
            human_bytes(stats.bytes_total),
            secs,
            human_bytes(speed as u64),
            if stats.parts_reused > 0 {
                format!(", {} parts reused from before", stats.parts_reused)
            } else {
                String::new()
            }
        );
        if let Some(line) = verification_line(&verified) {
            println!("{line}");
        }
        if !paused.is_empty() {
            let state = engine
                .transfer(&paused[0])
                .map(|r| r.state)
                .unwrap_or(State::Paused);
            println!(
                "{} transfer{} {}. Run the same command again, or `ferry resume --all`, to continue where it stopped.",
                paused.len(),
                if paused.len() == 1 { "" } else { "s" },
                state.as_str()
            );
        }
    }
    Ok(if !failed.is_empty() {
        ExitCode::from(exit_code(&failed[0].1))
    } else if !paused.is_empty() {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// What the summary says of the finished downloads' verification, e.g. "checksums: 3 verified
/// against the server's CRC32C; 1 not verified (the server keeps no whole-object checksum for it)".
fn verification_line(verified: &std::collections::BTreeMap<Option<&str>, usize>) -> Option<String> {
    if verified.is_empty() {
        return None;
    }
    let mut said: Vec<String> = verified
        .iter()
        .filter_map(|(k, n)| k.map(|k| format!("{n} verified against the server's {k}")))
        .collect();
    if let Some(n) = verified.get(&None) {
        said.push(format!(
            "{n} not verified (the server keeps no whole-object checksum for {})",
            if *n == 1 { "it" } else { "them" }
        ));
    }
    Some(format!("checksums: {}", said.join("; ")))
}
