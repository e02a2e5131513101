//! Logging to the host: a `log` backend that honours the host's log level,
//! the panic hook, and [`write`](fn@write), the raw `proxy_log` call (named apart from
//! the `log` crate's macros).
//!
//! The SDK installs both on the first callback (never during module start-up,
//! where Envoy forbids the level query). Use the `log` macros, re-exported as
//! [`crate::log`]: `proxywasm::log::info!("…")`. The host's level is read once
//! at plugin start and on each tick and becomes `log`'s max level, so a
//! suppressed line costs a comparison, not a hostcall.

use crate::Result;
use crate::abi::calls;
use crate::error::check;
use crate::runtime;

/// A Proxy-Wasm log level (book: reference/enumerations.md#log-levels).
///
/// ```
/// use proxywasm::logging::LogLevel;
/// assert_eq!(LogLevel::from_raw(3), LogLevel::Warn);
/// assert_eq!(LogLevel::from_raw(6), LogLevel::Off);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LogLevel {
    /// `0`
    Trace,
    /// `1`
    Debug,
    /// `2`
    Info,
    /// `3`
    Warn,
    /// `4`
    Error,
    /// `5`
    Critical,
    /// Envoy's "off" (`6`), and any other value: nothing is logged.
    Off,
}

impl LogLevel {
    /// Decodes a wire value; anything above 5 is [`LogLevel::Off`].
    ///
    /// ```
    /// assert_eq!(proxywasm::logging::LogLevel::from_raw(0), proxywasm::logging::LogLevel::Trace);
    /// ```
    pub const fn from_raw(raw: u32) -> LogLevel {
        match raw {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => LogLevel::Off,
        }
    }

    /// The wire value (`Off` is 6).
    ///
    /// ```
    /// assert_eq!(proxywasm::logging::LogLevel::Critical.as_raw(), 5);
    /// ```
    pub const fn as_raw(self) -> u32 {
        self as u32
    }
}

/// Writes `message` to the host's log at `level` (`proxy_log`), unfiltered: one
/// hostcall, no formatting. The message is bytes (`&str`, `&[u8]`, `Vec<u8>`…),
/// so a line built from header values needs no UTF-8 conversion; Envoy logs
/// the bytes as they are.
///
/// This is the cheapest way to log: `proxywasm::log::info!` goes through
/// `core::fmt`, which costs about a thousand wasm instructions per line with
/// two arguments. For a line logged on every request, build it by hand and
/// call this.
///
/// # Errors
/// `BAD_ARGUMENT` if the host rejects the level.
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder().http(|_| Noop);
/// # struct Noop; impl proxywasm::HttpContext for Noop {}
/// # host.run(|| {
/// use proxywasm::logging::{self, LogLevel};
/// logging::write(LogLevel::Critical, "disk on fire")?;
/// let mut line = b"header: ".to_vec();
/// line.extend_from_slice(b"caf\xe9");
/// logging::write(LogLevel::Info, &line)?;
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// # assert!(host.logs().contain("disk on fire"));
/// ```
pub fn write(level: LogLevel, message: impl AsRef<[u8]>) -> Result<()> {
    check("proxy_log", calls::log(level.as_raw(), message.as_ref()))
}

/// The host's current log level (`proxy_get_log_level`).
///
/// # Errors
/// The hostcall's status, if it fails.
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder().http(|_| Noop);
/// # struct Noop; impl proxywasm::HttpContext for Noop {}
/// # host.run(|| {
/// let level = proxywasm::logging::log_level()?;
/// assert!(level <= proxywasm::logging::LogLevel::Off);
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
pub fn log_level() -> Result<LogLevel> {
    check("proxy_get_log_level", calls::get_log_level()).map(LogLevel::from_raw)
}

/// How long a line [`line`] builds on the stack (a longer one is built in
/// an allocation of its exact length).
const LINE_BYTES: usize = 256;

pub(crate) use crate::error::Piece;

/// Logs the SDK's own messages without `core::fmt`, keeping the formatting
/// machinery out of plugins that do not use it: one function, the line built
/// in a [`LINE_BYTES`] buffer on the stack, or, when longer, in an
/// allocation of its length (nothing is cut). `Debug` lines are built only
/// when `log`'s max level lets them through.
#[cold]
#[inline(never)]
pub(crate) fn line(level: LogLevel, pieces: &[Piece<'_>]) {
    if level == LogLevel::Debug && runtime::log_level() < log::LevelFilter::Debug {
        return;
    }
    let mut bytes = [0u8; LINE_BYTES];
    let len = write_line(&mut bytes, pieces);
    if let Some(line) = bytes.get(..len) {
        let _ = calls::log(level.as_raw(), line);
    } else {
        let mut long = vec![0u8; len];
        write_line(&mut long, pieces);
        let _ = calls::log(level.as_raw(), &long);
    }
}

/// Writes `pieces` into `out` as far as it holds them, and returns the
/// length of the whole line. (Out of line: [`line`] calls it twice for a
/// long line.)
#[inline(never)]
fn write_line(out: &mut [u8], pieces: &[Piece<'_>]) -> usize {
    let mut len = 0;
    for piece in pieces {
        let mut digits = [0u8; 10];
        let text = match *piece {
            Piece::Text(text) => text.as_bytes(),
            Piece::Number(mut n) => {
                let mut at = digits.len();
                for d in digits.iter_mut().rev() {
                    *d = b'0' + (n % 10) as u8;
                    at -= 1;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                digits.get(at..).unwrap_or_default()
            }
        };
        let room = out.get_mut(len..).unwrap_or_default();
        let fits = room.len().min(text.len());
        if let (Some(place), Some(part)) = (room.get_mut(..fits), text.get(..fits)) {
            place.copy_from_slice(part);
        }
        len += text.len();
    }
    len
}

struct HostLogger;

static LOGGER: HostLogger = HostLogger;

/// The longest formatted record [`HostLogger`] logs from its buffer; a
/// longer one is formatted again into a `String`.
const RECORD_BYTES: usize = 512;

/// A record's line being formatted, in a buffer reused for every record (no
/// allocation, nothing to clear). Writing past its end fails, and the
/// caller formats into a `String` instead.
struct LineBuffer {
    bytes: [u8; RECORD_BYTES],
    len: usize,
}

std::thread_local! {
    // On wasm (one thread) this is a plain static.
    static LINE: core::cell::RefCell<LineBuffer> = const {
        core::cell::RefCell::new(LineBuffer { bytes: [0; RECORD_BYTES], len: 0 })
    };
}

impl core::fmt::Write for LineBuffer {
    #[inline]
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let end = self.len + text.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        room.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl log::Log for HostLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= runtime::log_level() && runtime::has_host()
    }

    fn log(&self, record: &log::Record<'_>) {
        // Natively the logger is process-wide but a mock host is there only
        // while it drives a callback: other crates' records (a JIT's trace
        // logs, say) are dropped before any formatting.
        if record.level() > runtime::log_level() || !runtime::has_host() {
            return;
        }
        let level = match record.level() {
            log::Level::Trace => 0,
            log::Level::Debug => 1,
            log::Level::Info => 2,
            log::Level::Warn => 3,
            log::Level::Error => 4,
        };
        if let Some(text) = record.args().as_str() {
            let _ = calls::log(level, text.as_bytes());
            return;
        }
        // Format into the reused buffer; a record formatted while another
        // is (a `Display` impl that logs), or too long for it, gets a String.
        let logged = LINE.with(|line| {
            let mut line = line.try_borrow_mut().ok()?;
            line.len = 0;
            core::fmt::Write::write_fmt(&mut *line, *record.args()).ok()?;
            let _ = calls::log(level, line.bytes.get(..line.len).unwrap_or_default());
            Some(())
        });
        if logged.is_none() {
            log_long(level, record.args());
        }
    }

    fn flush(&self) {}
}

/// Logs a record the [`LineBuffer`] could not take, formatted into a `String`.
#[cold]
#[inline(never)]
fn log_long(level: u32, args: &core::fmt::Arguments<'_>) {
    let mut text = String::new();
    let _ = core::fmt::Write::write_fmt(&mut text, *args);
    let _ = calls::log(level, text.as_bytes());
}

/// Installs the `log` backend (unless the plugin installed its own) and the
/// panic hook. Makes no hostcall (it runs during start-up); the level is read
/// at plugin start.
pub(crate) fn install() {
    let _ = log::set_logger(&LOGGER);
    install_panic_hook();
}

/// Logs panics at critical level before the trap, in two lines as Rust
/// itself prints them: `panicked at src/lib.rs:12:5:`, then the message,
/// whole whatever its length.
fn install_panic_hook() {
    #[cfg(not(target_family = "wasm"))]
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = match payload.downcast_ref::<&str>() {
            Some(text) => text,
            None => payload
                .downcast_ref::<String>()
                .map_or("Box<dyn Any>", String::as_str),
        };
        // Rust's own two lines: the location, then the message whole, from
        // where it is (no copy, no allocation in the hook, no length limit).
        match info.location() {
            Some(at) => line(
                LogLevel::Critical,
                &[
                    Piece::Text("panicked at "),
                    Piece::Text(at.file()),
                    Piece::Text(":"),
                    Piece::Number(at.line()),
                    Piece::Text(":"),
                    Piece::Number(at.column()),
                    Piece::Text(":"),
                ],
            ),
            None => line(LogLevel::Critical, &[Piece::Text("panicked:")]),
        }
        let _ = calls::log(LogLevel::Critical.as_raw(), message.as_bytes());
        #[cfg(not(target_family = "wasm"))]
        previous(info);
    }));
}

/// Installs the logger and panic hook once per process (native hosts).
#[cfg(not(target_family = "wasm"))]
pub(crate) fn install_once() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(install);
}

#[cfg(all(test, feature = "mock-host"))]
mod tests {
    use super::*;

    struct Noop;
    impl crate::HttpContext for Noop {}

    #[test]
    fn a_line_longer_than_the_buffer_is_logged_whole() {
        let host = crate::mock::MockHost::builder()
            .echo_logs(false)
            .http(|_| Noop);
        let long = "x".repeat(300);
        host.run(|| {
            line(
                LogLevel::Warn,
                &[Piece::Text("n="), Piece::Number(u32::MAX)],
            );
            line(LogLevel::Warn, &[Piece::Text(&long[..LINE_BYTES])]);
            line(LogLevel::Warn, &[Piece::Text(&long), Piece::Number(7)]);
        });
        let lines = host.logs().warn();
        assert_eq!(lines[0], "n=4294967295");
        assert_eq!(lines[1], long[..LINE_BYTES]);
        assert_eq!(lines[2], format!("{long}7"));
    }
}
