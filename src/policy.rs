//! The error policy: what the SDK does when a callback, a task or a callout's
//! closure of a context returns an error. Its own module, below the context
//! traits, so that both the dispatcher (callbacks) and the callout layer
//! (closures) apply the one policy.

/// What the SDK does when a stream callback returns an error (set with the
/// `ON_ERROR` constant of [`HttpContext`](crate::HttpContext) or [`TcpContext`](crate::TcpContext)).
///
/// Either way the error is logged once at error level, naming the callback
/// and the context, e.g. `proxywasm: on_request_headers of context 2 failed:
/// proxy_get_header_map_value: BadArgument; answered 500`. Errors of plugin
/// context callbacks are logged and nothing else happens (except in
/// [`PluginContext::on_configure`](crate::PluginContext::on_configure), where an error refuses the
/// configuration).
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Action, Error, ErrorPolicy, HttpContext, Result};
///
/// struct Strict;
/// impl HttpContext for Strict {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         Err(Error::other("no tenant"))
///     }
/// }
///
/// struct Lenient;
/// impl HttpContext for Lenient {
///     const ON_ERROR: ErrorPolicy = ErrorPolicy::Continue;
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         Err(Error::other("no tenant"))
///     }
/// }
///
/// let host = MockHost::builder().http(|_| Strict);
/// let mut stream = host.http_stream();
/// assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
/// assert_eq!(stream.local_response().map(|r| r.status_code), Some(500));
/// assert!(host.logs().contain("on_request_headers of context 2 failed: no tenant"));
///
/// let host = MockHost::builder().http(|_| Lenient);
/// let mut stream = host.http_stream();
/// assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Continue);
/// assert!(stream.local_response().is_none());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorPolicy {
    /// Fail closed (the default): an HTTP stream gets a local reply with
    /// status 500 (details `proxywasm_callback_error`) and the callback
    /// answers [`Action::Pause`](crate::Action::Pause); a TCP connection is
    /// closed both ways. After the response has started (body or trailers
    /// already sent downstream) Envoy cannot send a local reply and resets
    /// the stream instead. A callback that sent a local reply of its own
    /// before failing keeps that reply: no second one is sent (see
    /// [`LocalResponse::send`](crate::http::LocalResponse::send)).
    #[default]
    FailClosed,
    /// Let the stream go on as if the callback had returned
    /// [`Action::Continue`](crate::Action::Continue).
    Continue,
}

/// The kind of context whose callback (or task) failed, with its policy.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Failing {
    Plugin,
    Http(ErrorPolicy),
    Tcp(ErrorPolicy),
}

/// `what` (a callback, or a task) of context `id` failed with `error`: logs
/// it once and, when the stream can still be stopped (`stoppable`), applies
/// the policy. Returns the action the callback answers with, or `None` when
/// no policy applies (a plugin context, or `on_log`, `on_done`, a close).
#[cold]
#[inline(never)]
pub(crate) fn failed(
    kind: Failing,
    id: u32,
    what: &str,
    error: &crate::Error,
    stoppable: bool,
) -> Option<crate::Action> {
    use crate::Action;
    use crate::logging::{LogLevel, Piece, line};
    // What the policy did, and the error it met doing it, if any.
    let (outcome, action, second) = match kind {
        // (The callback's own reply stands: a second would be refused.)
        Failing::Http(ErrorPolicy::FailClosed) if stoppable && crate::runtime::replied() => {
            ("; its local reply stands", Some(Action::Pause), None)
        }
        Failing::Http(ErrorPolicy::FailClosed) if stoppable => {
            let sent = crate::http::LocalResponse::new(500)
                .details("proxywasm_callback_error")
                .send();
            match sent {
                Ok(()) => ("; answered 500", Some(Action::Pause), None),
                Err(e) => ("; the 500 reply failed too: ", Some(Action::Pause), Some(e)),
            }
        }
        Failing::Tcp(ErrorPolicy::FailClosed) if stoppable => {
            match crate::tcp::close_downstream().and(crate::tcp::close_upstream()) {
                Ok(()) => ("; connection closed", Some(Action::Pause), None),
                Err(e) => (
                    "; closing the connection failed too: ",
                    Some(Action::Pause),
                    Some(e),
                ),
            }
        }
        Failing::Http(_) | Failing::Tcp(_) if stoppable => {
            ("; continuing", Some(Action::Continue), None)
        }
        _ => ("", None, None),
    };
    let [a, b, c, d, e, f] = error.pieces();
    let [g, h, i, j, k, l] = second
        .as_ref()
        .map_or([Piece::Text(""); 6], crate::Error::pieces);
    line(
        LogLevel::Error,
        &[
            Piece::Text("proxywasm: "),
            Piece::Text(what),
            Piece::Text(" of context "),
            Piece::Number(id),
            Piece::Text(" failed: "),
            a,
            b,
            c,
            d,
            e,
            f,
            Piece::Text(outcome),
            g,
            h,
            i,
            j,
            k,
            l,
        ],
    );
    action
}
