//! The one error type of xtask: a message meant for a person, built up with context.

use std::fmt;

/// An error message, possibly spanning several lines (e.g. a log excerpt).
pub(crate) struct Error(String);

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn msg(message: impl Into<String>) -> Error {
        Error(message.into())
    }

    /// The first line: what went wrong, without any attached details.
    pub(crate) fn headline(&self) -> &str {
        self.0.lines().next().unwrap_or("")
    }

    /// Everything after the first line (log excerpts and the like), possibly empty.
    pub(crate) fn details(&self) -> &str {
        self.0.split_once('\n').map_or("", |(_, rest)| rest)
    }
}

/// `Ok` when `problems` is empty; otherwise an error headed by their count and
/// `what` they are (`"3 broken citation(s):"`), one problem a line below it.
pub(crate) fn none_of(problems: &[String], what: &str) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error(format!(
        "{} {what}:\n{}",
        problems.len(),
        problems.join("\n")
    )))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error(message.to_string())
    }
}

/// Adds what we were doing to a lower-level error.
pub(crate) trait Context<T> {
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error(format!("{what}: {e}")))
    }
}

/// Returns early with an [`Error`] built like `format!`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::Error::msg(format!($($arg)*)))
    };
}
pub(crate) use bail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headline_and_details_split_on_the_first_line() {
        let e = Error::msg("it broke\nline a\nline b");
        assert_eq!(e.headline(), "it broke");
        assert_eq!(e.details(), "line a\nline b");
        let e = Error::msg("one line");
        assert_eq!(e.details(), "");
    }

    #[test]
    fn none_of_lists_each_problem_under_their_count() {
        assert!(none_of(&[], "finding(s)").is_ok());
        let problems = ["a: bad".to_string(), "b: worse".to_string()];
        let e = none_of(&problems, "finding(s)")
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("2 finding(s):\na: bad\nb: worse"));
    }

    #[test]
    fn context_prefixes_the_cause() {
        let r: Result<(), String> = Err("denied".to_string());
        let e = r.context("reading x").err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("reading x: denied"));
    }
}
