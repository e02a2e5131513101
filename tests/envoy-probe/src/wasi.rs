//! What Envoy does with the WASI calls a Rust plugin makes (book:
//! reference/hostcalls.md#wasi), observed in `GET /routed`'s
//! `on_request_headers` ([`in_request`]). The checks are in
//! `xtask/src/probe_wasi.rs`.

use crate::observe;
use proxywasm::time;
use std::time::{Instant, SystemTime};

/// The line the probe writes to stdout (`println!`).
pub const STDOUT_LINE: &str = "probe-wasi: a line written to stdout";
/// The line the probe writes to stderr (`eprintln!`).
pub const STDERR_LINE: &str = "probe-wasi: a line written to stderr";

/// The observations of `GET /routed`'s `on_request_headers`.
pub fn in_request() {
    // fd 1 and fd 2 become Envoy log lines; the checks find them in the log.
    println!("{STDOUT_LINE}");
    eprintln!("{STDERR_LINE}");
    observe("wasi fd_write(fd 3)", &raw::fd_write_errno(3).to_string());

    observe(
        "wasi environ (std::env::vars().count())",
        &std::env::vars().count().to_string(),
    );
    observe(
        "wasi args (std::env::args().count())",
        &std::env::args().count().to_string(),
    );

    observe("wasi clock 0 against time::now", &wall_clock());
    let start = Instant::now();
    let later = Instant::now();
    observe(
        "wasi clock 1 (Instant::now twice)",
        if later >= start {
            "monotonic"
        } else {
            "went back"
        },
    );

    observe("wasi random_get(16)", &raw::random_16());
    observe(
        "wasi random_get(65537)",
        &raw::random_errno(65_537).to_string(),
    );

    observe("wasi poll_oneoff(1 s clock)", &raw::poll_one_second());
    observe("wasi other calls", &raw::others());
    observe("wasi file calls", &raw::files());
}

/// The WASI environment of VM `tcp_probe`, which configures
/// `environment_variables` (observed in its `on_new_connection`).
pub fn in_tcp() {
    let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
    observe("wasi environ[tcp_probe]", &format!("[{}]", vars.join(", ")));
}

/// `agrees` when `SystemTime::now()` (WASI clock 0) is within a second of
/// `proxy_get_current_time_nanoseconds`, else how far apart they are.
fn wall_clock() -> String {
    let wasi = SystemTime::now();
    let host = match time::now() {
        Ok(t) => t,
        Err(e) => return crate::err(&e),
    };
    let apart = wasi
        .duration_since(host)
        .or_else(|_| host.duration_since(wasi))
        .unwrap_or_default();
    if apart.as_secs() < 1 {
        "agrees".to_string()
    } else {
        format!("{apart:?} apart")
    }
}

/// The WASI imports the probe calls itself, for the errno `std` hides.
#[allow(unsafe_code)]
mod raw {
    /// A WASI `ciovec`: a pointer and a length.
    #[cfg(target_family = "wasm")]
    #[repr(C)]
    struct Ciovec {
        buf: *mut u8,
        len: usize,
    }

    #[cfg(target_family = "wasm")]
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn fd_write(fd: u32, iovs: *const Ciovec, iovs_len: usize, written: *mut usize) -> u16;
        fn random_get(buf: *mut u8, len: usize) -> u16;
        fn fd_read(fd: u32, iovs: *const Ciovec, iovs_len: usize, read: *mut usize) -> u16;
        fn fd_fdstat_get(fd: u32, stat: *mut u8) -> u16;
        fn fd_prestat_get(fd: u32, prestat: *mut u8) -> u16;
        fn sched_yield() -> u16;
        fn clock_res_get(clock: u32, resolution: *mut u64) -> u16;
        fn clock_time_get(clock: u32, precision: u64, time: *mut u64) -> u16;
        fn poll_oneoff(
            subscriptions: *const u8,
            events: *mut u8,
            count: usize,
            nevents: *mut usize,
        ) -> u16;
        fn fd_seek(fd: u32, offset: i64, whence: u32, new_offset: *mut u64) -> u16;
        fn fd_close(fd: u32) -> u16;
        fn fd_fdstat_set_flags(fd: u32, flags: u32) -> u16;
        fn fd_prestat_dir_name(fd: u32, path: *mut u8, path_len: usize) -> u16;
        fn fd_filestat_get(fd: u32, stat: *mut u8) -> u16;
        #[allow(clippy::too_many_arguments, reason = "WASI's signature")]
        fn path_open(
            fd: u32,
            dirflags: u32,
            path: *const u8,
            path_len: usize,
            oflags: u32,
            rights_base: u64,
            rights_inheriting: u64,
            fdflags: u32,
            opened: *mut u32,
        ) -> u16;
        fn path_filestat_get(
            fd: u32,
            flags: u32,
            path: *const u8,
            path_len: usize,
            stat: *mut u8,
        ) -> u16;
    }

    /// The errno of a one-byte `fd_write` to `fd`.
    #[cfg(target_family = "wasm")]
    pub(super) fn fd_write_errno(fd: u32) -> u16 {
        let byte = b"x";
        let iov = Ciovec {
            buf: byte.as_ptr().cast_mut(),
            len: byte.len(),
        };
        let mut written = 0usize;
        // SAFETY: one live iovec over a live byte, and a live out word.
        unsafe { fd_write(fd, &raw const iov, 1, &raw mut written) }
    }

    /// The errno of `random_get` of `len` bytes into a buffer that long.
    #[cfg(target_family = "wasm")]
    pub(super) fn random_errno(len: usize) -> u16 {
        let mut buf = vec![0u8; len];
        // SAFETY: the buffer is live and `len` bytes long.
        unsafe { random_get(buf.as_mut_ptr(), len) }
    }

    /// `errno E; two draws differ: B` for two 16-byte `random_get`s.
    #[cfg(target_family = "wasm")]
    pub(super) fn random_16() -> String {
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        // SAFETY: both buffers are live and 16 bytes long.
        let errno = unsafe { random_get(a.as_mut_ptr(), 16) | random_get(b.as_mut_ptr(), 16) };
        format!("errno {errno}; two draws differ: {}", a != b)
    }

    /// `errno E, N events, took under 100 ms: B` for one `poll_oneoff` with
    /// one relative 1 s monotonic clock subscription.
    #[cfg(target_family = "wasm")]
    pub(super) fn poll_one_second() -> String {
        // subscription (48 bytes): userdata u64, tag u8 (0 = clock), then
        // at 16: clock id u32 (1 = monotonic), at 24: timeout u64 ns, at
        // 32: precision u64, at 40: flags u16 (0 = relative).
        let mut sub = [0u8; 48];
        sub[0..8].copy_from_slice(&7u64.to_le_bytes());
        sub[16..20].copy_from_slice(&1u32.to_le_bytes());
        sub[24..32].copy_from_slice(&1_000_000_000u64.to_le_bytes());
        let mut event = [0u8; 32];
        let mut nevents = usize::MAX;
        let start = std::time::Instant::now();
        // SAFETY: one live 48-byte subscription, room for one 32-byte event
        // and a live out word.
        let errno = unsafe { poll_oneoff(sub.as_ptr(), event.as_mut_ptr(), 1, &raw mut nevents) };
        let quick = start.elapsed().as_millis() < 100;
        format!("errno {errno}, {nevents} events, took under 100 ms: {quick}")
    }

    /// `name errno, ...` for the calls whose whole answer is an errno (and
    /// `clock_res_get`'s resolution): `fd_read` of fd 0, `fd_fdstat_get` of
    /// fd 1 and fd 3, `fd_prestat_get` of fd 3, `sched_yield`,
    /// `clock_res_get` of clocks 0, 1 and 2, `clock_time_get` of clock 2.
    #[cfg(target_family = "wasm")]
    pub(super) fn others() -> String {
        let mut stat = [0u8; 24];
        let mut prestat = [0u8; 8];
        let mut buf = [0u8; 8];
        let iov = Ciovec {
            buf: buf.as_mut_ptr(),
            len: buf.len(),
        };
        let (mut read, mut res, mut time) = (0usize, [0u64; 3], 0u64);
        // SAFETY: every pointer is to a live local of the size WASI writes
        // (a 24-byte fdstat, an 8-byte prestat, one iovec over 8 bytes, a
        // usize, u64 timestamps).
        let answers = unsafe {
            [
                ("fd_read(0)", fd_read(0, &raw const iov, 1, &raw mut read)),
                ("fd_fdstat_get(1)", fd_fdstat_get(1, stat.as_mut_ptr())),
                ("fd_fdstat_get(3)", fd_fdstat_get(3, stat.as_mut_ptr())),
                ("fd_prestat_get(3)", fd_prestat_get(3, prestat.as_mut_ptr())),
                ("sched_yield", sched_yield()),
                ("clock_res_get(0)", clock_res_get(0, &raw mut res[0])),
                ("clock_res_get(1)", clock_res_get(1, &raw mut res[1])),
                ("clock_res_get(2)", clock_res_get(2, &raw mut res[2])),
                ("clock_time_get(2)", clock_time_get(2, 1, &raw mut time)),
            ]
        };
        let mut shown: Vec<String> = answers.iter().map(|(n, e)| format!("{n} {e}")).collect();
        shown.push(format!("resolutions {} ns, {} ns", res[0], res[1]));
        shown.join(", ")
    }

    /// `name errno, ...` for the file calls a plugin has no use for (book:
    /// reference/hostcalls.md#wasi): `fd_seek` of fd 1, `fd_close` of fd 3
    /// (an fd that is not open: a stub answers 0 for it too),
    /// `fd_fdstat_set_flags` of fd 1, `fd_prestat_dir_name` and
    /// `fd_filestat_get` of fd 3, `path_open` and `path_filestat_get` of
    /// `probe.txt` under fd 3.
    #[cfg(target_family = "wasm")]
    pub(super) fn files() -> String {
        let path = b"probe.txt";
        let (mut offset, mut opened) = (0u64, 0u32);
        let mut name = [0u8; 16];
        let mut stat = [0u8; 64];
        // SAFETY: every pointer is to a live local of the size WASI writes
        // (a u64 offset, a 16-byte name buffer, 64-byte filestats, a u32
        // fd) or to the live path bytes of the given length.
        let answers = unsafe {
            [
                ("fd_seek(1)", fd_seek(1, 0, 1, &raw mut offset)),
                ("fd_close(3)", fd_close(3)),
                ("fd_fdstat_set_flags(1)", fd_fdstat_set_flags(1, 0)),
                (
                    "fd_prestat_dir_name(3)",
                    fd_prestat_dir_name(3, name.as_mut_ptr(), name.len()),
                ),
                ("fd_filestat_get(3)", fd_filestat_get(3, stat.as_mut_ptr())),
                (
                    "path_open(3)",
                    path_open(3, 0, path.as_ptr(), path.len(), 0, 0, 0, 0, &raw mut opened),
                ),
                (
                    "path_filestat_get(3)",
                    path_filestat_get(3, 0, path.as_ptr(), path.len(), stat.as_mut_ptr()),
                ),
            ]
        };
        let shown: Vec<String> = answers.iter().map(|(n, e)| format!("{n} {e}")).collect();
        shown.join(", ")
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn files() -> String {
        "native".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn others() -> String {
        "native".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn fd_write_errno(_fd: u32) -> u16 {
        u16::MAX
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn random_errno(_len: usize) -> u16 {
        u16::MAX
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn random_16() -> String {
        "native".to_string()
    }

    /// Natively there is no Envoy to ask.
    #[cfg(not(target_family = "wasm"))]
    pub(super) fn poll_one_second() -> String {
        "native".to_string()
    }
}
