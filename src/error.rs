//! Errors: the host's status codes and the crate's [`Error`] type.

use core::fmt;

/// The status codes, written as rows `Variant = code => "NAME",`: the
/// variants of [`Status`] (and [`Status::Unknown`] for any other code),
/// [`Status::from_raw`], [`Status::as_raw`] and [`Status::name`].
macro_rules! statuses {
    ($(#[$type_doc:meta])* enum Status {
        $($(#[$doc:meta])* $variant:ident = $code:literal => $name:literal,)*
    }) => {
        $(#[$type_doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Status {
            $($(#[$doc])* $variant,)*
            /// Any other code, kept verbatim.
            Unknown(u32),
        }

        impl Status {
            /// Decodes a raw status code. Never fails: unknown codes become [`Status::Unknown`].
            ///
            /// ```
            /// assert_eq!(proxywasm::Status::from_raw(8), proxywasm::Status::CasMismatch);
            /// ```
            pub const fn from_raw(code: u32) -> Status {
                match code {
                    $($code => Status::$variant,)*
                    other => Status::Unknown(other),
                }
            }

            /// The raw wire code of this status.
            ///
            /// ```
            /// assert_eq!(proxywasm::Status::InternalFailure.as_raw(), 10);
            /// ```
            pub const fn as_raw(self) -> u32 {
                self.row().0
            }

            /// The spec's name for this status, such as `"NOT_FOUND"`.
            ///
            /// ```
            /// assert_eq!(proxywasm::Status::BadArgument.name(), "BAD_ARGUMENT");
            /// ```
            pub const fn name(self) -> &'static str {
                self.row().1
            }

            /// The code and the name.
            const fn row(self) -> (u32, &'static str) {
                match self {
                    $(Status::$variant => ($code, $name),)*
                    Status::Unknown(code) => (code, "UNKNOWN"),
                }
            }
        }
    };
}

statuses! {
    /// A status code returned by a Proxy-Wasm hostcall (`proxy_status_t`).
    ///
    /// Codes arrive from the host as integers and are decoded here, so a code this
    /// SDK does not know is kept as [`Status::Unknown`] rather than being undefined
    /// behaviour or a panic (the official SDK panics on `12`).
    ///
    /// # Examples
    ///
    /// ```
    /// use proxywasm::Status;
    ///
    /// assert_eq!(Status::from_raw(1), Status::NotFound);
    /// assert_eq!(Status::from_raw(12), Status::Unimplemented);
    /// assert_eq!(Status::from_raw(99), Status::Unknown(99));
    /// assert_eq!(Status::Unknown(99).as_raw(), 99);
    /// ```
    enum Status {
        /// `0`: success.
        Ok = 0 => "OK",
        /// `1`: the key, map, buffer, queue, token or property does not exist.
        NotFound = 1 => "NOT_FOUND",
        /// `2`: an argument was rejected (for example a read-only map).
        BadArgument = 2 => "BAD_ARGUMENT",
        /// `3`: a value could not be serialized.
        SerializationFailure = 3 => "SERIALIZATION_FAILURE",
        /// `4`: a value could not be parsed.
        ParseFailure = 4 => "PARSE_FAILURE",
        /// `5`: an expression was rejected (host enum only).
        BadExpression = 5 => "BAD_EXPRESSION",
        /// `6`: a pointer or length was outside the module's memory.
        InvalidMemoryAccess = 6 => "INVALID_MEMORY_ACCESS",
        /// `7`: the queue is empty.
        Empty = 7 => "EMPTY",
        /// `8`: a compare-and-swap on shared data lost the race.
        CasMismatch = 8 => "CAS_MISMATCH",
        /// `9`: result mismatch (host enum only).
        ResultMismatch = 9 => "RESULT_MISMATCH",
        /// `10`: the host failed internally, or the call is not allowed here.
        InternalFailure = 10 => "INTERNAL_FAILURE",
        /// `11`: the connection broke (seen via `proxy_get_status` after a failed call).
        BrokenConnection = 11 => "BROKEN_CONNECTION",
        /// `12`: the host does not implement this call or argument.
        Unimplemented = 12 => "UNIMPLEMENTED",
    }
}

impl Status {
    /// The status as text in pieces: `NOT_FOUND (1)`, or `unknown status 99`.
    fn pieces(self) -> [Piece<'static>; 4] {
        use Piece::{Number, Text};
        match self {
            Status::Unknown(code) => [Text("unknown status "), Number(code), Text(""), Text("")],
            known => [
                Text(known.name()),
                Text(" ("),
                Number(known.as_raw()),
                Text(")"),
            ],
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_pieces(f, &self.pieces())
    }
}

/// A piece of a message put together without `core::fmt`: the SDK's own log
/// lines (`logging::line`) and the text of an [`Error`], so that logging an
/// error links no formatting machinery.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    /// A number, written in decimal.
    Number(u32),
}

/// Writes `pieces` to a formatter (the `Display` of [`Status`] and [`Error`]).
fn write_pieces(f: &mut fmt::Formatter<'_>, pieces: &[Piece<'_>]) -> fmt::Result {
    for piece in pieces {
        match piece {
            Piece::Text(text) => f.write_str(text)?,
            Piece::Number(n) => write!(f, "{n}")?,
        }
    }
    Ok(())
}

/// The error type of every fallible operation in this crate.
///
/// A hostcall failure records which call failed and the [`Status`] it returned;
/// other errors (a bad configuration, a malformed value from the host) carry a
/// message. Errors never panic and never allocate unless they carry a message.
///
/// # Examples
///
/// ```
/// use proxywasm::{Error, Status};
///
/// let err = Error::host("proxy_http_call", Status::BadArgument);
/// assert_eq!(err.status(), Some(Status::BadArgument));
/// let err = Error::config("field `header`: expected a string");
/// assert_eq!(err.status(), None);
/// assert_eq!(err.to_string(), "invalid configuration: field `header`: expected a string");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    repr: Repr,
}

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Host {
        call: &'static str,
        status: Status,
    },
    Malformed(&'static str),
    /// A call the SDK refused to make, for the reason given (Envoy would
    /// ignore it, or crash).
    Refused {
        call: &'static str,
        why: &'static str,
    },
    Config(Box<str>),
    Other(Box<str>),
    /// A gRPC call that ended with a non-OK status (raw code) and message.
    Grpc {
        status: u32,
        message: Box<str>,
    },
}

impl Error {
    /// A gRPC call that ended with `status` (its raw code) and `message`.
    pub(crate) fn grpc(status: u32, message: &str) -> Error {
        Error {
            repr: Repr::Grpc {
                status,
                message: message.into(),
            },
        }
    }

    /// A call to hostcall `call` that the SDK refused to make, for the
    /// reason `why`.
    pub(crate) const fn refused(call: &'static str, why: &'static str) -> Error {
        Error {
            repr: Repr::Refused { call, why },
        }
    }

    /// The raw gRPC status of a failed gRPC call's error.
    pub(crate) fn grpc_status(&self) -> Option<u32> {
        match self.repr {
            Repr::Grpc { status, .. } => Some(status),
            _ => None,
        }
    }

    /// An error for a hostcall named `call` that returned `status`.
    ///
    /// ```
    /// let err = proxywasm::Error::host("proxy_http_call", proxywasm::Status::BadArgument);
    /// assert_eq!(err.call(), Some("proxy_http_call"));
    /// ```
    pub const fn host(call: &'static str, status: Status) -> Error {
        Error {
            repr: Repr::Host { call, status },
        }
    }

    /// An error for data from the host that does not have the documented shape.
    ///
    /// ```
    /// let err = proxywasm::Error::malformed("header map: length past the end");
    /// assert!(err.to_string().contains("malformed"));
    /// ```
    pub const fn malformed(what: &'static str) -> Error {
        Error {
            repr: Repr::Malformed(what),
        }
    }

    /// A configuration error; the plugin refuses to start with it.
    ///
    /// ```
    /// let err = proxywasm::Error::config("missing field `value`");
    /// assert!(err.is_config());
    /// ```
    pub fn config(message: impl fmt::Display) -> Error {
        Error {
            repr: Repr::Config(message.to_string().into_boxed_str()),
        }
    }

    /// Any other error, with a message.
    ///
    /// ```
    /// let err = proxywasm::Error::other("quota exhausted");
    /// assert_eq!(err.to_string(), "quota exhausted");
    /// ```
    pub fn other(message: impl fmt::Display) -> Error {
        Error {
            repr: Repr::Other(message.to_string().into_boxed_str()),
        }
    }

    /// The status the host returned, if this is a hostcall error.
    ///
    /// ```
    /// use proxywasm::{Error, Status};
    /// assert_eq!(Error::host("proxy_done", Status::NotFound).status(), Some(Status::NotFound));
    /// ```
    pub fn status(&self) -> Option<Status> {
        match self.repr {
            Repr::Host { status, .. } => Some(status),
            _ => None,
        }
    }

    /// The hostcall that failed, if this is a hostcall error.
    ///
    /// ```
    /// use proxywasm::{Error, Status};
    /// assert_eq!(Error::host("proxy_done", Status::NotFound).call(), Some("proxy_done"));
    /// ```
    pub fn call(&self) -> Option<&'static str> {
        match self.repr {
            Repr::Host { call, .. } | Repr::Refused { call, .. } => Some(call),
            _ => None,
        }
    }

    /// Whether this is a configuration error.
    ///
    /// ```
    /// assert!(!proxywasm::Error::other("x").is_config());
    /// ```
    pub fn is_config(&self) -> bool {
        matches!(self.repr, Repr::Config(_))
    }

    /// Whether the SDK refused to make the call, because Envoy would ignore
    /// it or crash on it (the only one today: a second
    /// [`LocalResponse::send`](crate::http::LocalResponse::send) in one
    /// callback). Nothing reached the host.
    ///
    /// ```
    /// # proxywasm::mock::doc_http(&[], || {
    /// use proxywasm::http::LocalResponse;
    /// LocalResponse::new(403).send()?;
    /// let second = LocalResponse::new(500).send().unwrap_err();
    /// assert!(second.is_refused());
    /// assert_eq!(second.call(), Some("proxy_send_local_response"));
    /// # Ok(()) });
    /// ```
    pub fn is_refused(&self) -> bool {
        matches!(self.repr, Repr::Refused { .. })
    }
}

impl Error {
    /// The error's text in pieces (empty texts pad the end): the one source
    /// of its `Display` and of the SDK's log lines about it. (Out of line:
    /// a log line about two errors would otherwise hold two copies.)
    #[inline(never)]
    pub(crate) fn pieces(&self) -> [Piece<'_>; 6] {
        use Piece::{Number, Text};
        const NONE: Piece<'static> = Text("");
        match &self.repr {
            Repr::Host { call, status } => {
                let [a, b, c, d] = status.pieces();
                [Text(call), Text(" failed: "), a, b, c, d]
            }
            Repr::Malformed(what) => [
                Text("malformed data from the host: "),
                Text(what),
                NONE,
                NONE,
                NONE,
                NONE,
            ],
            Repr::Refused { call, why } => [
                Text(call),
                Text(" not called: "),
                Text(why),
                NONE,
                NONE,
                NONE,
            ],
            Repr::Config(msg) => [
                Text("invalid configuration: "),
                Text(msg),
                NONE,
                NONE,
                NONE,
                NONE,
            ],
            Repr::Other(msg) => [Text(msg), NONE, NONE, NONE, NONE, NONE],
            Repr::Grpc { status, message } => [
                Text("gRPC call failed with status "),
                Number(*status),
                Text(": "),
                Text(message),
                NONE,
                NONE,
            ],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_pieces(f, &self.pieces())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({self})")
    }
}

impl std::error::Error for Error {}

/// The standard library's parse and conversion errors become
/// [`Error::other`] with their message, so `?` works on them in callbacks:
///
/// ```
/// fn port(value: &str) -> proxywasm::Result<u16> {
///     Ok(value.parse::<u16>()?)
/// }
/// assert_eq!(port("8080"), Ok(8080));
/// assert_eq!(port("x").unwrap_err().to_string(), "invalid digit found in string");
/// ```
macro_rules! from_std_errors {
    ($($error:ty),*) => {
        $(
            impl From<$error> for Error {
                fn from(error: $error) -> Error {
                    Error::other(error)
                }
            }
        )*
    };
}

from_std_errors!(
    core::str::Utf8Error,
    std::string::FromUtf8Error,
    core::num::ParseIntError,
    core::num::ParseFloatError,
    core::num::TryFromIntError,
    core::char::ParseCharError,
    core::str::ParseBoolError,
    std::net::AddrParseError
);

/// With the `json` feature, a `serde_json` error (for example from parsing a
/// request body) becomes [`Error::other`] with its message.
#[cfg(feature = "json")]
impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error::other(error)
    }
}

/// `Result` with this crate's [`Error`] as the default error type.
///
/// ```
/// fn header_count() -> proxywasm::Result<usize> {
///     Ok(0)
/// }
/// assert_eq!(header_count(), Ok(0));
/// ```
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Maps a hostcall's raw result (the value, or the non-zero status code):
/// every non-zero status is an error naming `call`.
#[inline]
pub(crate) fn check<T>(call: &'static str, raw: core::result::Result<T, u32>) -> Result<T> {
    raw.map_err(|code| Error::host(call, Status::from_raw(code)))
}

/// Maps a hostcall's raw result where `NOT_FOUND` means "absent".
#[inline]
pub(crate) fn optional<T>(
    call: &'static str,
    raw: core::result::Result<T, u32>,
) -> Result<Option<T>> {
    match raw {
        Ok(value) => Ok(Some(value)),
        Err(1) => Ok(None),
        Err(code) => Err(Error::host(call, Status::from_raw(code))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every non-zero code any hostcall can return — the 13 the host knows, and
    /// any other — becomes an `Err` naming the call and keeping the code.
    #[test]
    fn every_status_code_becomes_an_error_with_the_code() {
        for code in (1..=40u32).chain([255, 4096, u32::MAX]) {
            let err = check::<()>("proxy_example", Err(code)).unwrap_err();
            assert_eq!(err.status().map(Status::as_raw), Some(code), "code {code}");
            assert_eq!(err.call(), Some("proxy_example"));
            assert!(
                err.to_string().starts_with("proxy_example failed: "),
                "{err}"
            );
        }
        assert_eq!(check("proxy_example", Ok(7)), Ok(7));
        assert_eq!(Status::from_raw(12), Status::Unimplemented);
        assert_eq!(Status::from_raw(99), Status::Unknown(99));
    }

    /// `NOT_FOUND` means "absent" where absence is legal; every other code is
    /// still an error.
    #[test]
    fn not_found_is_none_and_other_codes_stay_errors() {
        assert_eq!(optional::<u32>("proxy_example", Err(1)), Ok(None));
        assert_eq!(optional("proxy_example", Ok(3)), Ok(Some(3)));
        for code in (2..=40u32).chain([u32::MAX]) {
            let err = optional::<u32>("proxy_example", Err(code)).unwrap_err();
            assert_eq!(err.status().map(Status::as_raw), Some(code));
        }
    }
}
