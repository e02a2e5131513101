//! What a network (TCP) filter calls: the data buffers and connection control.
//! Use these while a [`TcpContext`](crate::TcpContext) callback runs.

use crate::abi::wire::buffer;

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

one_liners! {
    /// Data received from the client (in `on_downstream_data`).
    ///
    /// ```
    /// use proxywasm::mock::MockHost;
    /// use proxywasm::{Action, TcpContext, tcp, Result};
    ///
    /// struct Upper;
    /// impl TcpContext for Upper {
    ///     fn on_downstream_data(&mut self, _size: usize, _eos: bool) -> Result<Action> {
    ///         if let Ok(data) = tcp::downstream_data().read_all() {
    ///             tcp::downstream_data().replace(data.to_ascii_uppercase())?;
    ///         }
    ///         Ok(Action::Continue)
    ///     }
    /// }
    /// let host = MockHost::builder().tcp(|_| Upper);
    /// let mut conn = host.tcp_connection();
    /// conn.downstream_data(b"ping", false);
    /// assert_eq!(conn.current_downstream_data(), b"PING");
    /// ```
    fn downstream_data() -> Buffer(buffer::DOWNSTREAM_DATA);

    /// Data received from the server (in `on_upstream_data`).
    ///
    /// ```
    /// # proxywasm::mock::doc_tcp_upstream(b"pong", || {
    /// assert_eq!(proxywasm::tcp::upstream_data().read_all()?, "pong");
    /// # Ok(()) });
    /// ```
    fn upstream_data() -> Buffer(buffer::UPSTREAM_DATA);

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
    fn resume_downstream() = continue_stream(DOWNSTREAM);

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
    fn resume_upstream() = continue_stream(UPSTREAM);

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
    fn close_downstream() = close_stream(DOWNSTREAM);

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
    fn close_upstream() = close_stream(UPSTREAM);
}
