//! Logs: `proxy_log`, `proxy_get_log_level` and WASI's stdout/stderr, kept
//! as [`LogRecord`]s for tests to inspect (book: reference/hostcalls.md#logging-time-and-timers).

use super::records::LogRecord;
use super::state::status::*;
use super::state::{HostState, RECENT_LINES, text};
use crate::ContextId;
use crate::logging::LogLevel;

impl HostState {
    /// `proxy_log`.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for a level above 5.
    pub fn log(&mut self, level: u32, message: &[u8]) -> Result<(), u32> {
        self.enter("proxy_log")?;
        let names = ["trace", "debug", "info", "warn", "error", "critical"];
        let source = names.get(level as usize).copied().unwrap_or("log");
        self.remember_line(source, message);
        if level > 5 {
            return Err(BAD_ARGUMENT);
        }
        self.record(LogLevel::from_raw(level), message);
        Ok(())
    }

    /// Keeps a log record at `level`, if the host's level lets it through.
    fn record(&mut self, level: LogLevel, message: &[u8]) {
        if level < self.config.log_level {
            return;
        }
        let record = LogRecord {
            level,
            message: text(message),
            context_id: ContextId(self.acting_context()),
        };
        if self.config.echo_logs {
            eprintln!("[proxywasm mock] {record}");
        }
        self.logs.push(record);
    }

    pub(super) fn remember_line(&mut self, source: &str, message: &[u8]) {
        if self.recent_lines.len() == RECENT_LINES {
            self.recent_lines.pop_front();
        }
        let message = String::from_utf8_lossy(message);
        let line = format!("[{source}] {}", message.trim_end_matches('\n'));
        self.recent_lines.push_back(line);
    }

    /// The plugin's last log lines (`proxy_log`, and stdout/stderr through
    /// WASI), whatever the host's log level, oldest first: what a trap report
    /// shows.
    pub fn recent_log_lines(&self) -> Vec<String> {
        self.recent_lines.iter().cloned().collect()
    }

    /// `proxy_get_log_level`: the host's level (6 when off).
    pub fn get_log_level(&mut self) -> Result<u32, u32> {
        self.enter("proxy_get_log_level")?;
        Ok(self.config.log_level.as_raw())
    }
}

impl HostState {
    /// WASI `fd_write`: fd 1 becomes an info log, fd 2 an error log (one
    /// record per call, trailing newline removed), as Envoy does.
    ///
    /// # Errors
    /// WASI errno 8 (BADF) for other descriptors.
    pub fn wasi_fd_write(&mut self, fd: u32, bytes: &[u8]) -> Result<(), u16> {
        let (level, source) = match fd {
            1 => (LogLevel::Info, "stdout"),
            2 => (LogLevel::Error, "stderr"),
            _ => return Err(8),
        };
        self.remember_line(source, bytes);
        self.record(level, bytes.strip_suffix(b"\n").unwrap_or(bytes));
        Ok(())
    }
}
