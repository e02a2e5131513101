//! Envoy's attributes, typed: `request.time` as a [`SystemTime`],
//! `source.address` as a [`SocketAddr`], `xds.route_metadata` as
//! [`Metadata`], `response.code` as a [`StatusCode`].
//!
//! Each attribute is a constant of type [`Attribute<T>`], grouped by its
//! first path segment; [`Attribute::get`] reads it and decodes Envoy's
//! encoding (book: reference/properties.md for when each is available,
//! reference/wire-formats.md#property-values for the bytes):
//!
//! ```
//! use proxywasm::attribute::{request, source};
//! # proxywasm::mock::doc_http_properties(&[(&["source", "address"], b"10.0.0.7:51234")], || {
//! if let Some(client) = source::ADDRESS.get()? {
//!     proxywasm::log::info!("client {} (port {})", client.ip(), client.port());
//! #   assert_eq!(client.port(), 51234);
//! }
//! let method: Option<String> = request::METHOD.get()?;
//! # let _ = method;
//! # Ok(()) });
//! ```
//!
//! `Ok(None)` means Envoy has no such attribute in this callback (a plugin
//! context has no stream; `response.*` exists only once there is a
//! response). A value that does not decode as its type is an error naming
//! the attribute; the raw bytes stay readable with [`property::get`].
//! Attributes this module does not list, and your own filter state, are read
//! with [`Attribute::new`] or with [`property`].

use crate::http::{HeaderPairs, StatusCode};
use crate::property;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An attribute: its path and the type its value decodes to.
///
/// ```
/// use proxywasm::attribute::Attribute;
/// # proxywasm::mock::doc_http(&[], || {
/// # proxywasm::property::set(&["tenant"], b"acme")?;
/// // A filter-state value set by another filter, read as a string.
/// const TENANT: Attribute<String> = Attribute::new(&["tenant"]);
/// assert_eq!(TENANT.get()?.as_deref(), Some("acme"));
/// assert_eq!(TENANT.path(), &["tenant"]);
/// # Ok(()) });
/// ```
pub struct Attribute<T> {
    path: &'static [&'static str],
    kind: PhantomData<fn() -> T>,
}

impl<T> Attribute<T> {
    /// The attribute at `path` (one segment per element: `&["xds",
    /// "cluster_name"]`), decoded as `T`.
    ///
    /// ```
    /// use proxywasm::attribute::Attribute;
    /// const RETRIES: Attribute<u64> = Attribute::new(&["upstream", "request_attempt_count"]);
    /// assert_eq!(RETRIES.path().len(), 2);
    /// ```
    pub const fn new(path: &'static [&'static str]) -> Self {
        Attribute {
            path,
            kind: PhantomData,
        }
    }

    /// The path, one segment per element.
    ///
    /// ```
    /// assert_eq!(proxywasm::attribute::request::PATH.path(), &["request", "path"]);
    /// ```
    pub const fn path(&self) -> &'static [&'static str] {
        self.path
    }
}

impl<T: FromAttribute> Attribute<T> {
    /// Reads and decodes the attribute; `None` when Envoy has no such
    /// attribute here.
    ///
    /// # Errors
    /// The hostcall's status (`SERIALIZATION_FAILURE` for values Envoy cannot
    /// encode), or an error naming the attribute when its bytes do not
    /// decode as `T`.
    ///
    /// ```
    /// use proxywasm::attribute::response;
    /// # proxywasm::mock::doc_http_properties(&[(&["response", "code"], &503i64.to_le_bytes())], || {
    /// let code = response::CODE.get()?;
    /// assert_eq!(code.map(|c| c.as_u16()), Some(503));
    /// # Ok(()) });
    /// ```
    pub fn get(&self) -> Result<Option<T>> {
        let Some(bytes) = property::get(self.path)? else {
            return Ok(None);
        };
        T::from_attribute(&bytes)
            .map(Some)
            .map_err(|e| Error::other(format_args!("attribute `{}`: {e}", self.path.join("."))))
    }
}

impl<T> Clone for Attribute<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Attribute<T> {}

impl<T> core::fmt::Debug for Attribute<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Attribute({})", self.path.join("."))
    }
}

/// A type an attribute's bytes decode to (book:
/// reference/wire-formats.md#property-values).
///
/// ```
/// use proxywasm::attribute::FromAttribute;
/// assert_eq!(u64::from_attribute(&7u64.to_le_bytes()), Ok(7));
/// assert!(bool::from_attribute(&[1]).unwrap());
/// assert!(u64::from_attribute(b"seven").is_err());
/// ```
pub trait FromAttribute: Sized {
    /// Decodes the attribute's bytes.
    ///
    /// # Errors
    /// When the bytes are not an encoding of `Self`.
    ///
    /// A type of your own decodes through one of ours:
    ///
    /// ```
    /// use proxywasm::Result;
    /// use proxywasm::attribute::FromAttribute;
    ///
    /// /// An upstream port that is never 0.
    /// #[derive(Debug, PartialEq)]
    /// struct Port(u16);
    ///
    /// impl FromAttribute for Port {
    ///     fn from_attribute(bytes: &[u8]) -> Result<Port> {
    ///         match u64::from_attribute(bytes)? {
    ///             0 => Err(proxywasm::Error::malformed("port 0")),
    ///             port => u16::try_from(port)
    ///                 .map(Port)
    ///                 .map_err(|_| proxywasm::Error::malformed("port above 65535")),
    ///         }
    ///     }
    /// }
    ///
    /// assert_eq!(Port::from_attribute(&8080u64.to_le_bytes()), Ok(Port(8080)));
    /// assert!(Port::from_attribute(&0u64.to_le_bytes()).is_err());
    /// assert!(Port::from_attribute(&70_000u64.to_le_bytes()).is_err());
    /// ```
    fn from_attribute(bytes: &[u8]) -> Result<Self>;
}

fn eight(bytes: &[u8]) -> Result<[u8; 8]> {
    <[u8; 8]>::try_from(bytes).map_err(|_| Error::malformed("expected an 8-byte number"))
}

/// Raw bytes, as Envoy sent them.
impl FromAttribute for Vec<u8> {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        Ok(bytes.to_vec())
    }
}

/// A string (`int`, `bytes` and other types are refused); not UTF-8 is an error.
impl FromAttribute for String {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        core::str::from_utf8(bytes)
            .map(String::from)
            .map_err(|_| Error::malformed("expected a UTF-8 string"))
    }
}

/// An `int`: 8 bytes, two's complement, little-endian.
impl FromAttribute for i64 {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        eight(bytes).map(i64::from_le_bytes)
    }
}

/// A `uint` (or a non-negative `int`): 8 bytes, little-endian.
impl FromAttribute for u64 {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        eight(bytes).map(u64::from_le_bytes)
    }
}

/// A port: an 8-byte integer from 0 to 65,535.
impl FromAttribute for u16 {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        u16::try_from(u64::from_attribute(bytes)?)
            .map_err(|_| Error::malformed("expected a number from 0 to 65535"))
    }
}

/// A `double`: 8 bytes, IEEE 754, little-endian.
impl FromAttribute for f64 {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        eight(bytes).map(f64::from_le_bytes)
    }
}

/// A `bool`: one byte, 0 or 1.
impl FromAttribute for bool {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        match bytes {
            [0] => Ok(false),
            [1] => Ok(true),
            _ => Err(Error::malformed("expected a 1-byte bool")),
        }
    }
}

/// A `duration`: 8-byte nanoseconds; a negative one is an error.
impl FromAttribute for Duration {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        u64::try_from(i64::from_attribute(bytes)?)
            .map(Duration::from_nanos)
            .map_err(|_| Error::malformed("expected a non-negative duration"))
    }
}

/// A `timestamp`: 8-byte nanoseconds since the Unix epoch.
impl FromAttribute for SystemTime {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        let nanos = i64::from_attribute(bytes)?;
        let offset = Duration::from_nanos(nanos.unsigned_abs());
        let time = if nanos >= 0 {
            UNIX_EPOCH.checked_add(offset)
        } else {
            UNIX_EPOCH.checked_sub(offset)
        };
        time.ok_or(Error::malformed("timestamp out of range"))
    }
}

/// An address attribute, `ip:port` (`[ip6]:port` for IPv6).
impl FromAttribute for SocketAddr {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        String::from_attribute(bytes)?
            .parse()
            .map_err(|_| Error::malformed("expected an address `ip:port`"))
    }
}

/// An HTTP status code (an 8-byte `int`).
impl FromAttribute for StatusCode {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        u16::from_attribute(bytes).map(StatusCode::new)
    }
}

/// A map (`request.headers`, a `Struct` reached by path): pairs.
impl FromAttribute for HeaderPairs {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        HeaderPairs::new(crate::HostBytes::from(bytes.to_vec()))
    }
}

/// `envoy.config.core.v3.Metadata` in its binary protobuf encoding.
impl FromAttribute for Metadata {
    fn from_attribute(bytes: &[u8]) -> Result<Self> {
        crate::protobuf::decode_metadata(bytes)
    }
}

/// A `google.protobuf.Struct`: named [`Value`]s, in key order.
pub type Struct = BTreeMap<String, Value>;

/// A value of a `google.protobuf.Struct` (metadata, `Struct` configurations).
///
/// ```
/// use proxywasm::attribute::Value;
/// let v = Value::String("gold".into());
/// assert_eq!(v.as_str(), Some("gold"));
/// assert_eq!(Value::Number(2.0).as_f64(), Some(2.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `null`.
    Null,
    /// A number (protobuf's `Value` has only doubles).
    Number(f64),
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A nested struct.
    Struct(Struct),
    /// A list.
    List(Vec<Value>),
}

impl Value {
    /// The string, if this is one.
    ///
    /// ```
    /// assert_eq!(proxywasm::attribute::Value::Bool(true).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    ///
    /// ```
    /// assert_eq!(proxywasm::attribute::Value::Number(1.5).as_f64(), Some(1.5));
    /// ```
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    ///
    /// ```
    /// assert_eq!(proxywasm::attribute::Value::Bool(true).as_bool(), Some(true));
    /// ```
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The field `key`, if this is a struct that has it.
    ///
    /// ```
    /// use proxywasm::attribute::{Struct, Value};
    /// let inner = Struct::from([("tier".to_string(), Value::String("gold".into()))]);
    /// assert_eq!(Value::Struct(inner).get("tier").and_then(Value::as_str), Some("gold"));
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Struct(fields) => fields.get(key),
            _ => None,
        }
    }
}

/// Envoy's metadata (`envoy.config.core.v3.Metadata`): a [`Struct`] per
/// filter namespace, such as `envoy.lb` or your own `acme.auth`.
///
/// ```
/// use proxywasm::attribute::xds;
/// # proxywasm::mock::doc_http_properties(&[(&["xds", "route_metadata"], b"\x0a\x17\x0a\x09acme.auth\x12\x0a\x0a\x08\x0a\x01k\x12\x03\x1a\x01v")], || {
/// // Route metadata: filter_metadata: { acme.auth: { k: v } }
/// let metadata = xds::ROUTE_METADATA.get()?.unwrap_or_default();
/// let k = metadata.get("acme.auth", "k").and_then(|v| v.as_str());
/// assert_eq!(k, Some("v"));
/// # Ok(()) });
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Metadata {
    /// The `filter_metadata` map: namespace → struct.
    pub filter_metadata: BTreeMap<String, Struct>,
}

impl Metadata {
    /// The struct of namespace `filter`.
    ///
    /// ```
    /// assert!(proxywasm::attribute::Metadata::default().filter("envoy.lb").is_none());
    /// ```
    pub fn filter(&self, filter: &str) -> Option<&Struct> {
        self.filter_metadata.get(filter)
    }

    /// The value `key` in namespace `filter`.
    ///
    /// ```
    /// assert!(proxywasm::attribute::Metadata::default().get("envoy.lb", "canary").is_none());
    /// ```
    pub fn get(&self, filter: &str, key: &str) -> Option<&Value> {
        self.filter(filter)?.get(key)
    }
}

/// Declares one group of attributes: `NAME: Type = "path", "segments";`.
macro_rules! attributes {
    ($( $(#[$doc:meta])* $name:ident: $ty:ty = $($segment:literal),+; )*) => {
        $( $(#[$doc])* pub const $name: Attribute<$ty> = Attribute::new(&[$($segment),+]); )*
        /// Every attribute of this group, by path (for tables and tools).
        pub const ALL: &[&[&str]] = &[$( &[$($segment),+] ),*];
    };
}

/// `request.*`: the downstream request (HTTP streams).
pub mod request {
    use super::*;
    attributes! {
        /// Path and query.
        PATH: String = "request", "path";
        /// The path without the query.
        URL_PATH: String = "request", "url_path";
        /// `:authority`.
        HOST: String = "request", "host";
        /// `http` or `https`.
        SCHEME: String = "request", "scheme";
        /// The method.
        METHOD: String = "request", "method";
        /// The headers: lower-cased names, repeated headers joined with commas.
        HEADERS: HeaderPairs = "request", "headers";
        /// The `referer` header.
        REFERER: String = "request", "referer";
        /// The `user-agent` header.
        USERAGENT: String = "request", "useragent";
        /// `x-request-id`.
        ID: String = "request", "id";
        /// The query, without `?`.
        QUERY: String = "request", "query";
        /// When the first byte was received.
        TIME: SystemTime = "request", "time";
        /// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2` or `HTTP/3`.
        PROTOCOL: String = "request", "protocol";
        /// The request's duration, once it is complete.
        DURATION: Duration = "request", "duration";
        /// The body size: `content-length`, else the bytes received.
        SIZE: u64 = "request", "size";
        /// Bytes received, headers included.
        TOTAL_SIZE: u64 = "request", "total_size";
    }
}

/// `response.*`: the response (from `on_response_headers` on, and in `on_log`).
pub mod response {
    use super::*;
    attributes! {
        /// The status code.
        CODE: StatusCode = "response", "code";
        /// Why Envoy answered as it did (`via_upstream`, …).
        CODE_DETAILS: String = "response", "code_details";
        /// The legacy response-flag bits.
        FLAGS: u64 = "response", "flags";
        /// The gRPC status, for gRPC responses.
        GRPC_STATUS: u64 = "response", "grpc_status";
        /// The response headers.
        HEADERS: HeaderPairs = "response", "headers";
        /// The response trailers.
        TRAILERS: HeaderPairs = "response", "trailers";
        /// Body bytes sent.
        SIZE: u64 = "response", "size";
        /// Bytes sent, headers included.
        TOTAL_SIZE: u64 = "response", "total_size";
        /// Time from the upstream's first byte sent to last byte received.
        BACKEND_LATENCY: Duration = "response", "backend_latency";
    }
}

/// `source.*`: the downstream peer.
pub mod source {
    use super::*;
    attributes! {
        /// The peer's address and port.
        ADDRESS: SocketAddr = "source", "address";
        /// The peer's port.
        PORT: u16 = "source", "port";
    }
}

/// `destination.*`: the local address the downstream connected to.
pub mod destination {
    use super::*;
    attributes! {
        /// The local address and port.
        ADDRESS: SocketAddr = "destination", "address";
        /// The local port.
        PORT: u16 = "destination", "port";
    }
}

/// `connection.*`: the downstream connection (HTTP and TCP).
pub mod connection {
    use super::*;
    attributes! {
        /// The connection's id, unique in this Envoy.
        ID: u64 = "connection", "id";
        /// Whether TLS is used with a peer certificate.
        MTLS: bool = "connection", "mtls";
        /// The SNI.
        REQUESTED_SERVER_NAME: String = "connection", "requested_server_name";
        /// The TLS version (with downstream TLS).
        TLS_VERSION: String = "connection", "tls_version";
        /// The peer certificate's subject (with downstream TLS).
        SUBJECT_PEER_CERTIFICATE: String = "connection", "subject_peer_certificate";
        /// The first DNS SAN of the peer certificate.
        DNS_SAN_PEER_CERTIFICATE: String = "connection", "dns_san_peer_certificate";
        /// The first URI SAN of the peer certificate.
        URI_SAN_PEER_CERTIFICATE: String = "connection", "uri_san_peer_certificate";
        /// Why the transport failed, if it did.
        TRANSPORT_FAILURE_REASON: String = "connection", "transport_failure_reason";
        /// Why the connection ended, if known.
        TERMINATION_DETAILS: String = "connection", "termination_details";
    }
}

/// `upstream.*`: the upstream connection (once a host is chosen).
pub mod upstream {
    use super::*;
    attributes! {
        /// The chosen host's address and port.
        ADDRESS: SocketAddr = "upstream", "address";
        /// The chosen host's port.
        PORT: u16 = "upstream", "port";
        /// The local address of the upstream connection.
        LOCAL_ADDRESS: SocketAddr = "upstream", "local_address";
        /// The upstream TLS version.
        TLS_VERSION: String = "upstream", "tls_version";
        /// Why the upstream transport failed, if it did.
        TRANSPORT_FAILURE_REASON: String = "upstream", "transport_failure_reason";
        /// How many attempts the request took.
        REQUEST_ATTEMPT_COUNT: u64 = "upstream", "request_attempt_count";
        /// The cluster's endpoints.
        NUM_ENDPOINTS: u64 = "upstream", "num_endpoints";
    }
}

/// `xds.*`: the configuration that routed this stream, and the node.
pub mod xds {
    use super::*;
    attributes! {
        /// The node id (`--service-node`); also in plugin-context callbacks.
        NODE_ID: String = "xds", "node", "id";
        /// The node's cluster (`--service-cluster`).
        NODE_CLUSTER: String = "xds", "node", "cluster";
        /// The upstream cluster's name.
        CLUSTER_NAME: String = "xds", "cluster_name";
        /// The upstream cluster's metadata.
        CLUSTER_METADATA: Metadata = "xds", "cluster_metadata";
        /// The route's name.
        ROUTE_NAME: String = "xds", "route_name";
        /// The route's metadata.
        ROUTE_METADATA: Metadata = "xds", "route_metadata";
        /// The virtual host's name.
        VIRTUAL_HOST_NAME: String = "xds", "virtual_host_name";
        /// The virtual host's metadata.
        VIRTUAL_HOST_METADATA: Metadata = "xds", "virtual_host_metadata";
        /// The chosen upstream host's metadata.
        UPSTREAM_HOST_METADATA: Metadata = "xds", "upstream_host_metadata";
        /// The listener's metadata (not at configuration time).
        LISTENER_METADATA: Metadata = "xds", "listener_metadata";
        /// The listener's direction: 0 unspecified, 1 inbound, 2 outbound.
        LISTENER_DIRECTION: i64 = "xds", "listener_direction";
        /// The filter chain's name.
        FILTER_CHAIN_NAME: String = "xds", "filter_chain_name";
    }
}

/// This plugin: its name, root id and VM id (in every callback).
pub mod plugin {
    use super::*;
    attributes! {
        /// The plugin's `name`.
        NAME: String = "plugin_name";
        /// The plugin's `root_id`.
        ROOT_ID: String = "plugin_root_id";
        /// The VM's `vm_id`.
        VM_ID: String = "plugin_vm_id";
    }
}

/// The stream's dynamic metadata (`metadata`), written by filters.
pub const METADATA: Attribute<Metadata> = Attribute::new(&["metadata"]);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn scalars_decode_from_envoys_encodings() {
        assert_eq!(i64::from_attribute(&(-5i64).to_le_bytes()), Ok(-5));
        assert_eq!(u16::from_attribute(&8080u64.to_le_bytes()), Ok(8080));
        assert!(u16::from_attribute(&70_000u64.to_le_bytes()).is_err());
        assert_eq!(f64::from_attribute(&1.5f64.to_le_bytes()), Ok(1.5));
        assert!(bool::from_attribute(&[2]).is_err());
        assert_eq!(
            Duration::from_attribute(&1_500_000i64.to_le_bytes()),
            Ok(Duration::from_micros(1500))
        );
        assert!(Duration::from_attribute(&(-1i64).to_le_bytes()).is_err());
        let t = SystemTime::from_attribute(&1_700_000_000_000_000_000i64.to_le_bytes()).unwrap();
        assert_eq!(
            t.duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_secs(1_700_000_000)
        );
        assert!(SystemTime::from_attribute(&(-1i64).to_le_bytes()).is_ok());
        assert_eq!(
            SocketAddr::from_attribute(b"[::1]:443").unwrap().port(),
            443
        );
        assert!(SocketAddr::from_attribute(b"10.0.0.1").is_err());
        assert!(String::from_attribute(&[0xff]).is_err());
        assert_eq!(
            StatusCode::from_attribute(&200i64.to_le_bytes())
                .unwrap()
                .as_u16(),
            200
        );
    }

    #[test]
    fn every_group_lists_its_attributes_once_by_path() {
        let groups = [
            request::ALL,
            response::ALL,
            source::ALL,
            destination::ALL,
            connection::ALL,
            upstream::ALL,
            xds::ALL,
            plugin::ALL,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for path in groups.iter().flat_map(|g| g.iter()) {
            assert!(seen.insert(path.join(".")), "{path:?} twice");
        }
        assert_eq!(request::ALL[0], request::PATH.path());
    }
}
