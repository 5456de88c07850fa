//! What the CLI prints that is not one command's own: the progress display and summary of a run,
//! and times.

use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use ferry::engine::Outcome;
use ferry::format::{human_bytes, short_id};
use ferry::progress::Snapshot;
use ferry::transfer::download::verified_against_words;
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
    announce(&enq, json);
    if enq.ids.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let started = Instant::now();
    let mut snapshots = engine.subscribe_progress();
    // One copy of the ids: the runner takes each from it as its turn comes.
    let ids = std::sync::Arc::new(enq.ids);
    let (_, total) = engine.totals(&ids)?;
    let mut bar = Bar::new(total, json);
    let queue = ids.clone();
    let mut outcomes = engine.run_each((0..queue.len()).map(move |i| queue[i].clone()));
    let mut summary = Summary::default();
    let mut interrupted = false;
    loop {
        tokio::select! {
            outcome = outcomes.recv() => match outcome {
                Some(o) => summary.add(o),
                None => break,
            },
            snaps = snapshots.recv() => {
                if let Ok(snaps) = snaps {
                    bar.show(&snaps);
                }
            }
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                engine.pause_running_here();
                for id in ids.iter() {
                    let _ = engine.pause(id);
                }
            }
        }
    }
    bar.finish();
    let secs = started.elapsed().as_secs_f64();
    if json {
        summary.print_json(&ids, secs);
    } else {
        summary.print_text(engine, secs);
    }
    Ok(summary.exit_code())
}

/// What was skipped, and that unfinished transfers are being continued.
fn announce(enq: &Enqueued, json: bool) {
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
    if json {
        return;
    }
    if enq.ids.is_empty() {
        println!("nothing to transfer");
    } else if enq.resumed > 0 {
        eprintln!(
            "resuming {} unfinished transfer{}",
            enq.resumed,
            if enq.resumed == 1 { "" } else { "s" }
        );
    }
}

/// The progress of a run as a whole: a bar on a terminal, or a JSON line per tick. Keeps only
/// totals and a counter per transfer while it runs, nothing per queued file.
struct Bar {
    total: u64,
    json: bool,
    bar: Option<indicatif::ProgressBar>,
    /// Transfers running now: (bytes kept, bytes on their way).
    live: HashMap<String, (u64, u64)>,
    /// Bytes done of the transfers whose run ended.
    ended_done: u64,
}

impl Bar {
    fn new(total: u64, json: bool) -> Bar {
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
        Bar {
            total,
            json,
            bar,
            live: HashMap::new(),
            ended_done: 0,
        }
    }

    fn show(&mut self, snaps: &[Snapshot]) {
        let mut speed = 0.0;
        for s in snaps {
            if s.ended {
                self.live.remove(&s.id);
                self.ended_done += s.bytes_done;
            } else {
                self.live
                    .insert(s.id.clone(), (s.bytes_done, s.bytes_sending));
            }
            speed += s.speed;
        }
        let total = self.total;
        let done = (self.ended_done + self.live.values().map(|l| l.0).sum::<u64>()).min(total);
        let sending = self
            .live
            .values()
            .map(|l| l.1)
            .sum::<u64>()
            .min(total - done);
        if self.json {
            println!(
                "{}",
                serde_json::json!({"type": "progress", "bytes_done": done, "bytes_sending": sending,
                "bytes_total": total, "speed": speed,
                "eta_secs": if speed > 0.0 { Some((total - done - sending) as f64 / speed) } else { None },
                "transfers": snaps})
            );
        } else if let Some(b) = &self.bar {
            // The bar moves with the bytes on their way; the summary counts what was kept.
            b.set_position(done + sending);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The outcomes of a run, folded as they arrive.
#[derive(Default)]
struct Summary {
    ran: usize,
    stats: RunStats,
    failed: Vec<(String, Error)>,
    paused: Vec<String>,
    /// Transfers another Ferry process was running (the app, another terminal): not failures.
    elsewhere: Vec<String>,
    /// Finished downloads by the server checksum they were verified against (None: nothing to check).
    verified: BTreeMap<Option<&'static str>, usize>,
}

impl Summary {
    fn add(&mut self, o: Outcome) {
        self.ran += 1;
        match o.result {
            Ok(s) => {
                if s.download {
                    *self.verified.entry(s.verified).or_default() += 1;
                }
                let t = &mut self.stats;
                t.bytes_total += s.bytes_total;
                t.bytes_sent += s.bytes_sent;
                t.parts_total += s.parts_total;
                t.parts_reused += s.parts_reused;
                t.parts_sent += s.parts_sent;
            }
            Err(e) if e.kind == ErrorKind::Interrupted => self.paused.push(o.id),
            Err(e) if e.kind == ErrorKind::Busy => self.elsewhere.push(o.id),
            Err(e) => self.failed.push((o.id, e)),
        }
    }

    fn completed(&self) -> usize {
        self.ran - self.failed.len() - self.paused.len() - self.elsewhere.len()
    }

    fn print_json(&self, ids: &[String], secs: f64) {
        let (stats, verified) = (&self.stats, &self.verified);
        println!(
            "{}",
            serde_json::json!({"type": "summary", "completed": self.completed(), "failed": self.failed.len(), "paused": self.paused.len(), "elsewhere": self.elsewhere.len(),
                "bytes_total": stats.bytes_total, "bytes_sent": stats.bytes_sent, "parts_total": stats.parts_total,
                "parts_reused": stats.parts_reused, "parts_sent": stats.parts_sent, "seconds": secs,
                "verified": verified.iter().filter_map(|(k, n)| k.map(|k| (k, *n))).collect::<BTreeMap<_, _>>(),
                "unverified": verified.get(&None).copied().unwrap_or(0),
                "ids": ids, "errors": self.failed.iter().map(|(id, e)| serde_json::json!({"id": id, "kind": e.kind, "message": e.message})).collect::<Vec<_>>()})
        );
    }

    fn print_text(&self, engine: &Engine, secs: f64) {
        for (id, e) in &self.failed {
            // A download that hit a local disk problem is paused, not failed: it continues where it
            // stopped once the problem is fixed. So is any transfer whose state could not be
            // written for a full disk under the state database (its row still says running).
            let how = match engine.transfer(id).map(|r| r.state) {
                Ok(State::Paused) => "paused",
                _ if e.is_state_disk_full() => "paused",
                _ => "failed",
            };
            eprintln!("ferry: {} {how}: {}", short_id(id), e.message);
        }
        let stats = &self.stats;
        let speed = if secs > 0.0 {
            stats.bytes_sent as f64 / secs
        } else {
            0.0
        };
        // Server-side copies (and runs whose parts were all done before) send no bytes from here.
        let rate = if stats.bytes_sent == 0 && stats.bytes_total > 0 {
            "no bytes through this machine".to_string()
        } else {
            format!("{}/s", human_bytes(speed as u64))
        };
        println!(
            "{} of {} done: {} in {:.1}s ({rate}){}",
            self.completed(),
            self.ran,
            human_bytes(stats.bytes_total),
            secs,
            if stats.parts_reused > 0 {
                format!(", {} parts reused from before", stats.parts_reused)
            } else {
                String::new()
            }
        );
        if let Some(line) = verification_line(&self.verified) {
            println!("{line}");
        }
        if !self.elsewhere.is_empty() {
            println!(
                "{} transfer{} run by another Ferry process (the app, or another terminal); `ferry transfers` shows where {} stand{}",
                self.elsewhere.len(),
                if self.elsewhere.len() == 1 { " was" } else { "s were" },
                if self.elsewhere.len() == 1 { "it" } else { "they" },
                if self.elsewhere.len() == 1 { "s" } else { "" }
            );
        }
        if let Some(first) = self.paused.first() {
            let state = engine
                .transfer(first)
                .map(|r| r.state)
                .unwrap_or(State::Paused);
            println!(
                "{} transfer{} {}. Run the same command again, or `ferry resume --all`, to continue where it stopped.",
                self.paused.len(),
                if self.paused.len() == 1 { "" } else { "s" },
                state.as_str()
            );
        }
    }

    fn exit_code(&self) -> ExitCode {
        if let Some((_, e)) = self.failed.first() {
            ExitCode::from(exit_code(e))
        } else if !self.paused.is_empty() {
            ExitCode::from(130)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// What the summary says of the finished downloads' verification, e.g. "checksums: 3 verified
/// against the server's CRC32C; 1 not verified (the server keeps no whole-object checksum for it)".
fn verification_line(verified: &BTreeMap<Option<&str>, usize>) -> Option<String> {
    if verified.is_empty() {
        return None;
    }
    let mut said: Vec<String> = verified
        .iter()
        .filter_map(|(k, n)| {
            k.map(|k| format!("{n} verified against {}", verified_against_words(k)))
        })
        .collect();
    if let Some(n) = verified.get(&None) {
        said.push(format!(
            "{n} not verified (the server keeps no whole-object checksum for {})",
            if *n == 1 { "it" } else { "them" }
        ));
    }
    Some(format!("checksums: {}", said.join("; ")))
}
