//! `cargo xtask soak EXAMPLE [--requests N] [--clients C]`: N requests (default
//! 100,000) through Envoy and the example's plugin, from C client threads (default 4),
//! then a report: errors, time, Envoy's resident memory before and after, and the
//! plugin's linear memory in each VM before and after.
//!
//! HTTP examples are driven over kept-alive connections (each request is a new HTTP
//! stream, so a new stream context in the plugin); the TCP example gets a new
//! connection per request (`Connection: close`), since a TCP plugin has one context
//! per connection. "Before" is after a warm-up of [`WARM_UP`] requests, so that the
//! allocator and Envoy's pools have reached their working size.
//!
//! The linear memory is read from `/proc/PID/smaps`: V8 reserves 8 GiB of address
//! space for each 32-bit wasm memory and makes its first pages (the memory's current
//! size) read-write, so each VM's memory shows as a `rw-p` anonymous mapping directly
//! followed by a `---p` one, the two adding up to 8 GiB.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::step;
use crate::e2e::{self, Tally, report};
use crate::envoy::{self, EnvoyProcess, http_agent};
use crate::error::{Context, Error, Result, bail};
use crate::example::Example;

/// Requests sent before the "before" figures are taken.
pub(crate) const WARM_UP: u64 = 1_000;
/// The default number of requests and of client threads.
pub(crate) const DEFAULT_REQUESTS: u64 = 100_000;
pub(crate) const DEFAULT_CLIENTS: usize = 4;
/// The requests of the gate's short soak.
const GATE_REQUESTS: u64 = 10_000;
const TIMEOUT: Duration = Duration::from_secs(10);
/// V8's address-space reservation for one 32-bit wasm memory.
const V8_WASM_RESERVATION_KIB: u64 = 8 * 1024 * 1024;

/// Memory figures of the Envoy process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Memory {
    pub(crate) rss_kib: u64,
    /// The read-write size of each wasm memory, in KiB.
    pub(crate) linear_kib: Vec<u64>,
}

/// The outcome of a soak.
#[derive(Debug, Clone)]
pub(crate) struct Soak {
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) elapsed: Duration,
    pub(crate) before: Memory,
    pub(crate) after: Memory,
}

impl Soak {
    pub(crate) fn summary(&self, name: &str, clients: usize) -> String {
        let secs = self.elapsed.as_secs_f64();
        let rss_delta = self.after.rss_kib as i64 - self.before.rss_kib as i64;
        format!(
            "soak {name}: {} requests from {clients} clients in {secs:.1} s ({:.0} requests/s), {} errors\n  \
             Envoy RSS: {} KiB after the warm-up, {} KiB after ({rss_delta:+} KiB)\n  \
             plugin linear memory (KiB per VM): {:?} after the warm-up, {:?} after",
            self.requests,
            self.requests as f64 / secs,
            self.errors,
            self.before.rss_kib,
            self.after.rss_kib,
            self.before.linear_kib,
            self.after.linear_kib,
        )
    }
}

/// `VmRSS` of `/proc/PID/status`, in KiB.
fn rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The read-write sizes (KiB) of the wasm memories in a `smaps` listing.
pub(crate) fn wasm_memories_kib(smaps: &str) -> Vec<u64> {
    // (start, end, permissions, anonymous, Size in KiB) of each mapping.
    let mut maps: Vec<(u64, u64, String, bool, u64)> = Vec::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        {
            let perms = fields.next().unwrap_or_default().to_string();
            // offset, device, inode, then an optional path.
            let inode = fields.nth(2).unwrap_or("1");
            let anonymous = inode == "0" && fields.next().is_none();
            maps.push((start, end, perms, anonymous, 0));
        } else if first == "Size:"
            && let Some(last) = maps.last_mut()
        {
            last.4 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    maps.windows(2)
        .filter_map(|pair| {
            let (rw, guard) = (&pair[0], &pair[1]);
            let is_memory = rw.2 == "rw-p"
                && guard.2 == "---p"
                && rw.3
                && guard.3
                && rw.1 == guard.0
                && rw.4 + guard.4 == V8_WASM_RESERVATION_KIB;
            is_memory.then_some(rw.4)
        })
        .collect()
}

fn memory_of(pid: u32) -> Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context(format!("reading /proc/{pid}/status"))?;
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))
        .context(format!("reading /proc/{pid}/smaps"))?;
    Ok(Memory {
        rss_kib: rss_kib(&status)
            .ok_or_else(|| Error::msg(format!("no VmRSS in /proc/{pid}/status")))?,
        linear_kib: wasm_memories_kib(&smaps),
    })
}

/// Sends `total` GETs to `port` from `clients` threads; returns (errors, first error).
fn load(port: u16, total: u64, clients: usize, close: bool) -> (u64, Option<String>) {
    let sent = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let first = std::sync::Mutex::new(None::<String>);
    thread::scope(|s| {
        for _ in 0..clients.max(1) {
            s.spawn(|| {
                let agent = http_agent(TIMEOUT);
                let url = format!("http://127.0.0.1:{port}/");
                while sent.fetch_add(1, Ordering::Relaxed) < total {
                    let mut request = agent.get(&url);
                    if close {
                        request = request.header("connection", "close");
                    }
                    let outcome = request.call().map_err(|e| e.to_string()).and_then(|mut r| {
                        let status = r.status().as_u16();
                        r.body_mut()
                            .read_to_vec()
                            .map_err(|e| e.to_string())
                            .and_then(|_| match status {
                                200 => Ok(()),
                                other => Err(format!("status {other}")),
                            })
                    });
                    if let Err(e) = outcome {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = first.lock()
                            && f.is_none()
                        {
                            *f = Some(e);
                        }
                    }
                }
            });
        }
    });
    let first = first.into_inner().ok().flatten();
    (errors.load(Ordering::Relaxed), first)
}

/// Warms up, measures, sends `requests`, measures again.
pub(crate) fn soak(
    process: &EnvoyProcess,
    example: &Example,
    requests: u64,
    clients: usize,
) -> Result<Soak> {
    let close = example.name == "tcp_logger";
    let (warm_errors, warm_first) = load(example.spec.listener, WARM_UP, clients, close);
    if warm_errors > 0 {
        bail!(
            "{warm_errors} of the {WARM_UP} warm-up requests failed (first: {})",
            warm_first.unwrap_or_default()
        );
    }
    let before = memory_of(process.pid())?;
    let started = Instant::now();
    let (errors, first_error) = load(example.spec.listener, requests, clients, close);
    let elapsed = started.elapsed();
    let after = memory_of(process.pid())?;
    Ok(Soak {
        requests,
        errors,
        first_error,
        elapsed,
        before,
        after,
    })
}

/// `cargo xtask soak EXAMPLE [--requests N] [--clients C]`.
pub(crate) fn command(root: &Path, name: &str, requests: u64, clients: usize) -> Result<bool> {
    let example = e2e::build_one(root, name)?;
    let envoy = e2e::ensure_envoy(root)?;
    step(format!(
        "starting Envoy for {name}; {WARM_UP} warm-up requests, then {requests} from {clients} clients"
    ));
    let process = e2e::start_envoy(root, example, &envoy)?;
    let result = soak(&process, example, requests, clients)?;
    process.stop();
    println!("{}", result.summary(name, clients));
    if let Some(e) = &result.first_error {
        println!("  first error: {e}");
    }
    Ok(result.errors == 0)
}

/// The gate's short soak: 10,000 requests through http_headers; no error, and no
/// VM's linear memory grows.
pub(crate) fn gate_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let name = "http_headers";
    let prefix = format!("soak {name}");
    let outcome = (|| -> Result<Soak> {
        let example = e2e::example(name)?;
        let envoy = envoy::ensure_installed(root)?;
        let process = e2e::start_envoy(root, example, &envoy)?;
        let result = soak(&process, example, GATE_REQUESTS, DEFAULT_CLIENTS);
        process.stop();
        result
    })();
    let result = match outcome {
        Ok(r) => r,
        Err(e) => {
            report(&prefix, "Envoy runs the soak", &Err(e));
            tally.add(false);
            return tally;
        }
    };
    println!("{}", result.summary(name, DEFAULT_CLIENTS));
    let errors = if result.errors == 0 {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "{} errors (first: {})",
            result.errors,
            result.first_error.clone().unwrap_or_default()
        )))
    };
    report(
        &prefix,
        &format!("{GATE_REQUESTS} requests, no error"),
        &errors,
    );
    tally.add(errors.is_ok());
    let memory = if result.before.linear_kib.is_empty() {
        Err(Error::msg("no wasm memory found in /proc/PID/smaps"))
    } else if result.after.linear_kib != result.before.linear_kib {
        Err(Error::msg(format!(
            "linear memory went from {:?} to {:?} KiB",
            result.before.linear_kib, result.after.linear_kib
        )))
    } else {
        Ok(())
    };
    report(
        &prefix,
        "the plugin's linear memory does not grow after the warm-up",
        &memory,
    );
    tally.add(memory.is_ok());
    tally
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_from_status() {
        let status = "Name:\tenvoy\nVmPeak:\t 123 kB\nVmRSS:\t   45678 kB\nThreads: 9\n";
        assert_eq!(rss_kib(status), Some(45678));
        assert_eq!(rss_kib("Name: x\n"), None);
    }

    #[test]
    fn wasm_memories_are_the_rw_head_of_an_8_gib_reservation() {
        let smaps = "\
5572e9800000-5572e98f8000 rw-p 00000000 00:00 0 
Size:                992 kB
7fcf92450000-7fcf92560000 rw-p 00000000 00:00 0 
Size:               1088 kB
Rss:                 200 kB
7fcf92560000-7fd192450000 ---p 00000000 00:00 0 
Size:            8387520 kB
7fd19245c000-7fd19246c000 r--p 00000000 00:00 0 
Size:                 64 kB
7fd1a2480000-7fd1c2440000 rwxp 00000000 00:00 0 
Size:             524032 kB
7fd1c2440000-7fd1c2480000 rw-p 00000000 00:00 0 
Size:                256 kB
7fd1c2480000-7fd3c2440000 ---p 00000000 00:00 0 
Size:            8388352 kB
7fd3c4460000-7fd3c4570000 rw-p 00000000 08:01 1234   /lib/x.so
Size:               1088 kB
7fd3c4570000-7fd5c4460000 ---p 00000000 08:01 1234   /lib/x.so
Size:            8387520 kB
";
        // The second rw+--- pair adds up to 8 GiB and is anonymous; the third is a file.
        assert_eq!(wasm_memories_kib(smaps), [1088, 256]);
        assert!(wasm_memories_kib("").is_empty());
    }
}
