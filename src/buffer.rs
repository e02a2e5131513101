//! Byte buffers: HTTP bodies, TCP data, callout and gRPC responses,
//! configurations, foreign-function arguments.

use crate::Result;
use crate::abi::calls;
use crate::abi::memory::HostBytes;
use crate::error::{check, optional};

/// A handle to one of the host's buffers. Get one from
/// [`crate::http::request_body`], [`crate::tcp::downstream_data`] and friends.
///
/// Envoy can change a mutable buffer only at its ends: [`Buffer::replace`],
/// [`Buffer::prepend`], [`Buffer::append`] and [`Buffer::drain_front`] are the
/// forms it supports (book: reference/hostcalls.md#buffers); there is no middle edit.
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, HttpContext, http, Result};
///
/// struct Redact;
/// impl HttpContext for Redact {
///     fn on_response_body(&mut self, size: usize, end_of_stream: bool) -> Result<Action> {
///         if !end_of_stream {
///             return Ok(Action::Pause); // buffer until the whole body is here
///         }
///         let body = http::response_body();
///         if let Ok(Some(bytes)) = body.read(0, size) {
///             if bytes.windows(6).any(|w| w == b"secret") {
///                 let _ = body.replace(b"[redacted]");
///             }
///         }
///         Ok(Action::Continue)
///     }
/// }
///
/// let host = MockHost::builder().http(|_| Redact);
/// let mut stream = host.http_stream();
/// stream.request_headers(&[(":path", "/")], true);
/// stream.response_headers(&[(":status", "200")], false);
/// assert_eq!(stream.response_body(b"the secret ", false), Action::Pause);
/// assert_eq!(stream.response_body(b"word", true), Action::Continue);
/// assert_eq!(stream.current_response_body(), b"[redacted]");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    buffer: u32,
}

impl Buffer {
    pub(crate) const fn new(buffer: u32) -> Buffer {
        Buffer { buffer }
    }

    /// Up to `max_size` bytes from `start`. `None` when the buffer does not
    /// exist now (Envoy: `NOT_FOUND`); an empty value when it is empty or
    /// `start` is past its end. A `max_size` past the end reads to the end,
    /// however large (book: reference/hostcalls.md#buffers).
    ///
    /// # Errors
    /// The hostcall's status, other than `NOT_FOUND` (Envoy 1.40 answers
    /// `BAD_ARGUMENT` only for a buffer type it does not know).
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"hello", || {
    /// let bytes = proxywasm::http::request_body().read(1, 3)?.unwrap();
    /// assert_eq!(bytes, "ell");
    /// # Ok(()) });
    /// ```
    pub fn read(&self, start: usize, max_size: usize) -> Result<Option<HostBytes>> {
        optional(
            "proxy_get_buffer_bytes",
            calls::get_buffer_bytes(self.buffer, start, max_size),
        )
    }

    /// The whole buffer (empty when absent).
    ///
    /// # Errors
    /// As [`Buffer::read`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"hello", || {
    /// assert_eq!(proxywasm::http::request_body().read_all()?, "hello");
    /// # Ok(()) });
    /// ```
    pub fn read_all(&self) -> Result<HostBytes> {
        Ok(self.read(0, usize::MAX >> 1)?.unwrap_or_default())
    }

    /// The buffer's current length (`proxy_get_buffer_status`).
    ///
    /// # Errors
    /// `NOT_FOUND` when the buffer does not exist now.
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"hello", || {
    /// assert_eq!(proxywasm::http::request_body().len()?, 5);
    /// # Ok(()) });
    /// ```
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> Result<usize> {
        check(
            "proxy_get_buffer_status",
            calls::get_buffer_status(self.buffer),
        )
        .map(|(len, _flags)| len)
    }

    /// Replaces the whole content.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` for immutable buffers or outside the buffer's callback.
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"hello", || {
    /// let body = proxywasm::http::request_body();
    /// body.replace(b"bye")?;
    /// assert_eq!(body.read_all()?, "bye");
    /// # Ok(()) });
    /// ```
    pub fn replace(&self, data: impl AsRef<[u8]>) -> Result<()> {
        self.set(0, usize::MAX >> 1, data.as_ref())
    }

    /// Inserts `data` at the front.
    ///
    /// # Errors
    /// As [`Buffer::replace`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"world", || {
    /// let body = proxywasm::http::request_body();
    /// body.prepend(b"hello ")?;
    /// assert_eq!(body.read_all()?, "hello world");
    /// # Ok(()) });
    /// ```
    pub fn prepend(&self, data: impl AsRef<[u8]>) -> Result<()> {
        self.set(0, 0, data.as_ref())
    }

    /// Appends `data` at the end.
    ///
    /// # Errors
    /// As [`Buffer::replace`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"hello", || {
    /// let body = proxywasm::http::request_body();
    /// body.append(b"!")?;
    /// assert_eq!(body.read_all()?, "hello!");
    /// # Ok(()) });
    /// ```
    pub fn append(&self, data: impl AsRef<[u8]>) -> Result<()> {
        self.set(u32::MAX as usize, 0, data.as_ref())
    }

    /// Removes `count` bytes from the front.
    ///
    /// # Errors
    /// As [`Buffer::replace`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"hello", || {
    /// let body = proxywasm::http::request_body();
    /// body.drain_front(2)?;
    /// assert_eq!(body.read_all()?, "llo");
    /// # Ok(()) });
    /// ```
    pub fn drain_front(&self, count: usize) -> Result<()> {
        self.set(0, count, &[])
    }

    /// The raw `proxy_set_buffer_bytes(start, size, data)`: Envoy supports
    /// `start == 0` (drain `size` bytes, then prepend) and `start >= len`
    /// (append); anything else is `BAD_ARGUMENT`.
    ///
    /// # Errors
    /// As [`Buffer::replace`].
    ///
    /// ```
    /// # proxywasm::mock::doc_http_body(b"abc", || {
    /// proxywasm::http::request_body().set(0, 1, b"X")?;
    /// assert_eq!(proxywasm::http::request_body().read_all()?, "Xbc");
    /// # Ok(()) });
    /// ```
    pub fn set(&self, start: usize, size: usize, data: &[u8]) -> Result<()> {
        check(
            "proxy_set_buffer_bytes",
            calls::set_buffer_bytes(self.buffer, start, size, data),
        )
    }
}
