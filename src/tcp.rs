//! What a network (TCP) filter calls: the data buffers and connection control.
//! Use these while a [`TcpContext`](crate::TcpContext) callback runs.

use crate::Result;
use crate::abi::calls;
use crate::abi::wire::{buffer, stream};
use crate::error::check;

pub use crate::buffer::Buffer;

/// Who closed a connection (book: reference/enumerations.md#peer-types).
///
/// ```
/// use proxywasm::PeerType;
/// assert_eq!(PeerType::from_raw(2), PeerType::Remote);
/// assert_eq!(PeerType::from_raw(9), PeerType::Unknown);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerType {
    /// Not known (also any code this SDK does not know).
    Unknown,
    /// Closed locally, by Envoy.
    Local,
    /// Closed by the peer.
    Remote,
}

impl PeerType {
    /// Decodes the wire value; unknown values are [`PeerType::Unknown`].
    ///
    /// ```
    /// assert_eq!(proxywasm::PeerType::from_raw(1), proxywasm::PeerType::Local);
    /// ```
    pub const fn from_raw(raw: u32) -> PeerType {
        match raw {
            1 => PeerType::Local,
            2 => PeerType::Remote,
            _ => PeerType::Unknown,
        }
    }

    /// A lowercase name: `"unknown"`, `"local"` or `"remote"`.
    ///
    /// ```
    /// assert_eq!(proxywasm::PeerType::Remote.name(), "remote");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            PeerType::Unknown => "unknown",
            PeerType::Local => "local",
            PeerType::Remote => "remote",
        }
    }
}

/// Data received from the client (in `on_downstream_data`).
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, TcpContext, tcp};
///
/// struct Upper;
/// impl TcpContext for Upper {
///     fn on_downstream_data(&mut self, _size: usize, _eos: bool) -> Action {
///         if let Ok(data) = tcp::downstream_data().read_all() {
///             let _ = tcp::downstream_data().replace(data.to_ascii_uppercase());
///         }
///         Action::Continue
///     }
/// }
/// let host = MockHost::builder().tcp(|_| Upper);
/// let mut conn = host.tcp_connection();
/// conn.downstream_data(b"ping", false);
/// assert_eq!(conn.current_downstream_data(), b"PING");
/// ```
pub const fn downstream_data() -> Buffer {
    Buffer::new(buffer::DOWNSTREAM_DATA)
}

/// Data received from the server (in `on_upstream_data`).
///
/// ```
/// # proxywasm::mock::doc_tcp_upstream(b"pong", || {
/// assert_eq!(proxywasm::tcp::upstream_data().read_all()?, "pong");
/// # Ok(()) });
/// ```
pub const fn upstream_data() -> Buffer {
    Buffer::new(buffer::UPSTREAM_DATA)
}

/// Resumes downstream data this filter paused.
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_tcp_upstream(b"", || {
/// proxywasm::tcp::resume_downstream()?;
/// # Ok(()) });
/// ```
pub fn resume_downstream() -> Result<()> {
    check(
        "proxy_continue_stream",
        calls::continue_stream(stream::DOWNSTREAM),
    )
}

/// Resumes upstream data. Envoy does not implement this and answers
/// `UNIMPLEMENTED`: avoid pausing the upstream direction.
///
/// # Errors
/// `UNIMPLEMENTED` on Envoy.
///
/// ```
/// # proxywasm::mock::doc_tcp_upstream(b"", || {
/// let _ = proxywasm::tcp::resume_upstream();
/// # Ok(()) });
/// ```
pub fn resume_upstream() -> Result<()> {
    check(
        "proxy_continue_stream",
        calls::continue_stream(stream::UPSTREAM),
    )
}

/// Closes the downstream (client) connection.
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_tcp_upstream(b"", || {
/// proxywasm::tcp::close_downstream()?;
/// # Ok(()) });
/// ```
pub fn close_downstream() -> Result<()> {
    check(
        "proxy_close_stream",
        calls::close_stream(stream::DOWNSTREAM),
    )
}

/// Closes the upstream (server) connection.
///
/// # Errors
/// The hostcall's status.
///
/// ```
/// # proxywasm::mock::doc_tcp_upstream(b"", || {
/// proxywasm::tcp::close_upstream()?;
/// # Ok(()) });
/// ```
pub fn close_upstream() -> Result<()> {
    check("proxy_close_stream", calls::close_stream(stream::UPSTREAM))
}
