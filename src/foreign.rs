//! Host foreign functions: the raw [`call`] by name, and typed helpers for
//! the ones Envoy 1.40 registers ([`compress`], [`uncompress`],
//! [`clear_route_cache`], [`declare_property`], [`set_envoy_filter_state`],
//! [`verify_signature`] and CEL [`Expression`]s; book: foreign-functions.md,
//! reference/hostcalls.md#envoys-foreign-functions). Each helper's
//! documentation says which callbacks Envoy 1.40 allows it in, as measured.
//!
//! **Not registered, or the function's own `NOT_FOUND`.** The host answers
//! `NOT_FOUND` both for a name it has no function for and when a function
//! itself reports "not found" (Envoy's `set_envoy_filter_state` and
//! `expr_evaluate` do). The status alone cannot tell them apart; what does is
//! that Envoy writes the result words only once it found the function
//! (measured in Envoy 1.40; book: reference/hostcalls.md#not-found-or-not-registered).
//! So [`call`] answers `None` only for a name the host has no function for,
//! and the function's own `NOT_FOUND` is an error; a typed helper's error
//! names the function (`proxy_call_foreign_function(compress) failed: …`)
//! when the function answered, and [`is_not_registered`] tells the other
//! case.

use crate::abi::calls::{self, ForeignFailure};
use crate::abi::memory::HostBytes;
use crate::abi::wire::buffer;
use crate::attribute::FromAttribute;
use crate::buffer::Buffer;
use crate::protobuf::{Writer, decode_verification};
use crate::{Error, Result, Status};

/// The id of a foreign function the host calls into the plugin with
/// [`PluginContext::on_foreign_function`](crate::PluginContext::on_foreign_function)
/// (the host names the numbering; Envoy 1.40 never makes such a call).
///
/// ```
/// use proxywasm::foreign::FunctionId;
/// assert_eq!(FunctionId(7).0, 7);
/// assert_eq!(FunctionId::from(7), FunctionId(7));
/// assert_eq!(u32::from(FunctionId(7)), 7);
/// assert_eq!(FunctionId(7).to_string(), "7");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FunctionId(pub u32);

integer_newtype!(FunctionId(u32));

/// The hostcall's own name: an error naming it, and not a function, comes
/// from the host before any function ran.
const HOSTCALL: &str = "proxy_call_foreign_function";

/// What an error of [`call`] names when the function ran and failed (its
/// name is not `'static`).
const RAW_FUNCTION: &str = "proxy_call_foreign_function(…)";

/// Calls the host function `name` with `arguments`; `None` if the host has
/// no function of that name.
///
/// # Errors
/// The function's own status, `NOT_FOUND` included (e.g. Envoy's
/// `expr_evaluate` for a token it does not know), as an error naming
/// `proxy_call_foreign_function(…)`; a status from before any function ran
/// (e.g. `INVALID_MEMORY_ACCESS`) names `proxy_call_foreign_function`.
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder()
/// #     .foreign_function("reverse", |args: &[u8]| Ok(args.iter().rev().copied().collect()))
/// #     .foreign_function("lookup", |_: &[u8]| Err(proxywasm::Status::NotFound))
/// #     .http(|_| Noop);
/// # struct Noop; impl proxywasm::HttpContext for Noop {}
/// # host.run(|| {
/// let out = proxywasm::foreign::call("reverse", b"abc")?.unwrap();
/// assert_eq!(out, "cba");
/// assert!(proxywasm::foreign::call("missing", b"")?.is_none());
/// // A registered function that answers NOT_FOUND itself is an error.
/// let err = proxywasm::foreign::call("lookup", b"key").unwrap_err();
/// assert_eq!(err.to_string(), "proxy_call_foreign_function(…) failed: NOT_FOUND (1)");
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
pub fn call(name: &str, arguments: &[u8]) -> Result<Option<HostBytes>> {
    match calls::call_foreign_function_told(name.as_bytes(), arguments) {
        Ok(out) => Ok(Some(out)),
        Err(ForeignFailure {
            code: 1,
            ran: false,
        }) => Ok(None),
        Err(failure) => {
            let call = if failure.ran { RAW_FUNCTION } else { HOSTCALL };
            Err(Error::host(call, Status::from_raw(failure.code)))
        }
    }
}

/// Whether `error` says the host has no foreign function of the name a
/// typed helper called (`NOT_FOUND` before any function ran), as opposed to
/// the function's own status.
///
/// ```
/// use proxywasm::foreign::{LifeSpan, is_not_registered, set_envoy_filter_state};
/// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
/// # host.foreign_functions().register("set_envoy_filter_state", |_| Err(proxywasm::Status::NotFound));
/// # host.run(|| {
/// // Envoy has the function; it found no object factory for this key.
/// let err = set_envoy_filter_state("acme.unknown", "x", LifeSpan::FilterChain).unwrap_err();
/// assert!(!is_not_registered(&err));
/// assert_eq!(err.to_string(), "proxy_call_foreign_function(set_envoy_filter_state) failed: NOT_FOUND (1)");
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
/// # host.run(|| {
/// // Envoy has `verify_signature`; the emulator has it only when a test registers it.
/// let err = proxywasm::foreign::verify_signature("sha256", b"key", b"sig", b"text").unwrap_err();
/// assert!(is_not_registered(&err));
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
pub fn is_not_registered(error: &Error) -> bool {
    error.call() == Some(HOSTCALL) && error.status() == Some(Status::NotFound)
}

/// Calls Envoy's function `name`. A status from the function is an error
/// naming it (`call` is `proxy_call_foreign_function(<name>)`); a status
/// from before any function ran (no such function) names the hostcall.
fn envoy(call: &'static str, name: &str, arguments: &[u8]) -> Result<HostBytes> {
    calls::call_foreign_function_told(name.as_bytes(), arguments).map_err(|failure| {
        let call = if failure.ran { call } else { HOSTCALL };
        Error::host(call, Status::from_raw(failure.code))
    })
}

/// Compresses `data` into a zlib stream (deflate with the zlib header and
/// checksum, RFC 1950), with Envoy's `compress`. Callable from any callback.
///
/// # Errors
/// `SERIALIZATION_FAILURE` when zlib fails; `NOT_FOUND` only from a host
/// without `compress` (Envoy 1.40 has it).
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// use proxywasm::foreign::{compress, uncompress};
/// let packed = compress(b"hello hello hello hello")?;
/// assert_eq!(packed[0], 0x78); // the zlib header
/// assert_eq!(uncompress(&packed)?, "hello hello hello hello");
/// # Ok(()) });
/// ```
pub fn compress(data: &[u8]) -> Result<HostBytes> {
    envoy("proxy_call_foreign_function(compress)", "compress", data)
}

/// Inflates a zlib stream (as [`compress`] makes), with Envoy's
/// `uncompress`. Callable from any callback.
///
/// # Errors
/// `SERIALIZATION_FAILURE` when `data` is not a whole, valid zlib stream;
/// [`is_not_registered`] from a host without `uncompress` (Envoy 1.40 has it).
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let err = proxywasm::foreign::uncompress(b"not zlib").unwrap_err();
/// assert_eq!(err.status(), Some(proxywasm::Status::SerializationFailure));
/// # Ok(()) });
/// ```
pub fn uncompress(data: &[u8]) -> Result<HostBytes> {
    envoy(
        "proxy_call_foreign_function(uncompress)",
        "uncompress",
        data,
    )
}

/// Tells Envoy to pick the route again for the current request (after the
/// plugin changed what routing looks at), with Envoy's `clear_route_cache`.
/// Outside an HTTP stream it does nothing and still succeeds.
///
/// # Errors
/// [`is_not_registered`] from a host without `clear_route_cache` (Envoy 1.40 has
/// it).
///
/// ```
/// # proxywasm::mock::doc_http(&[(":path", "/")], || {
/// proxywasm::foreign::clear_route_cache()?;
/// # Ok(()) });
/// ```
pub fn clear_route_cache() -> Result<()> {
    envoy(
        "proxy_call_foreign_function(clear_route_cache)",
        "clear_route_cache",
        b"",
    )
    .map(drop)
}

/// How long a value stays in a stream's filter state (Envoy's `LifeSpan`;
/// book: reference/enumerations.md#envoy-foreign-function-enumerations).
///
/// ```
/// use proxywasm::foreign::LifeSpan;
/// assert_eq!(LifeSpan::default(), LifeSpan::FilterChain);
/// assert_eq!(LifeSpan::Request.as_raw(), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LifeSpan {
    /// `0`: as long as the filter chain (the default).
    #[default]
    FilterChain,
    /// `1`: the downstream request.
    Request,
    /// `2`: the downstream connection.
    Connection,
}

impl LifeSpan {
    /// The wire value.
    ///
    /// ```
    /// assert_eq!(proxywasm::foreign::LifeSpan::Connection.as_raw(), 2);
    /// ```
    pub const fn as_raw(self) -> u32 {
        match self {
            LifeSpan::FilterChain => 0,
            LifeSpan::Request => 1,
            LifeSpan::Connection => 2,
        }
    }
}

/// What a declared property holds (Envoy's `WasmType`; book:
/// reference/enumerations.md#envoy-foreign-function-enumerations).
///
/// ```
/// use proxywasm::foreign::PropertyType;
/// assert_eq!(PropertyType::default(), PropertyType::Bytes);
/// assert_eq!(PropertyType::Protobuf.as_raw(), 3);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PropertyType {
    /// `0`: bytes (the default).
    #[default]
    Bytes,
    /// `1`: a string.
    String,
    /// `2`: a FlatBuffers table; the schema is its binary schema.
    FlatBuffers,
    /// `3`: a serialized protobuf message; the schema names its type.
    Protobuf,
}

impl PropertyType {
    /// The wire value.
    ///
    /// ```
    /// assert_eq!(proxywasm::foreign::PropertyType::String.as_raw(), 1);
    /// ```
    pub const fn as_raw(self) -> u32 {
        match self {
            PropertyType::Bytes => 0,
            PropertyType::String => 1,
            PropertyType::FlatBuffers => 2,
            PropertyType::Protobuf => 3,
        }
    }
}

/// A property declaration for [`declare_property`]: a name, the type of its
/// value, its schema (for `FlatBuffers` and `Protobuf`), how long a value
/// lives and whether it may be set only once.
///
/// ```
/// use proxywasm::foreign::{LifeSpan, Property, PropertyType};
/// let p = Property::new("tenant")
///     .kind(PropertyType::String)
///     .span(LifeSpan::Request)
///     .readonly(true);
/// assert_eq!(p.name(), "tenant");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property<'a> {
    name: &'a str,
    kind: PropertyType,
    schema: &'a [u8],
    span: LifeSpan,
    readonly: bool,
}

impl<'a> Property<'a> {
    /// A writable `Bytes` property with the filter chain's life span.
    ///
    /// ```
    /// let p = proxywasm::foreign::Property::new("tenant");
    /// assert_eq!(p.name(), "tenant");
    /// ```
    pub fn new(name: &'a str) -> Property<'a> {
        Property {
            name,
            kind: PropertyType::Bytes,
            schema: b"",
            span: LifeSpan::FilterChain,
            readonly: false,
        }
    }

    /// The type of the property's value.
    ///
    /// ```
    /// let p = proxywasm::foreign::Property::new("n").kind(proxywasm::foreign::PropertyType::String);
    /// # let _ = p;
    /// ```
    pub fn kind(mut self, kind: PropertyType) -> Self {
        self.kind = kind;
        self
    }

    /// The schema: the binary schema of a `FlatBuffers` value, the type of a
    /// `Protobuf` one.
    ///
    /// ```
    /// use proxywasm::foreign::{Property, PropertyType};
    /// let p = Property::new("n").kind(PropertyType::Protobuf).schema(b"type.googleapis.com/google.protobuf.Struct");
    /// # let _ = p;
    /// ```
    pub fn schema(mut self, schema: &'a [u8]) -> Self {
        self.schema = schema;
        self
    }

    /// How long a value set with `property::set` lives.
    ///
    /// ```
    /// let p = proxywasm::foreign::Property::new("n").span(proxywasm::foreign::LifeSpan::Request);
    /// # let _ = p;
    /// ```
    pub fn span(mut self, span: LifeSpan) -> Self {
        self.span = span;
        self
    }

    /// Whether the value may be set only once.
    ///
    /// ```
    /// let p = proxywasm::foreign::Property::new("n").readonly(true);
    /// # let _ = p;
    /// ```
    pub fn readonly(mut self, readonly: bool) -> Self {
        self.readonly = readonly;
        self
    }

    /// The property's name.
    ///
    /// ```
    /// assert_eq!(proxywasm::foreign::Property::new("n").name(), "n");
    /// ```
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The `DeclarePropertyArguments` message Envoy's `declare_property`
    /// reads.
    fn encode(&self) -> Vec<u8> {
        Writer::new()
            .string(1, self.name)
            .varint(2, u64::from(self.readonly))
            .varint(3, u64::from(self.kind.as_raw()))
            .bytes(4, self.schema)
            .varint(5, u64::from(self.span.as_raw()))
            .finish()
    }
}

/// Declares a property that [`property::set`](crate::property::set) then
/// stores with a type, life span and read-only flag, with Envoy's
/// `declare_property`.
///
/// Call it from [`on_vm_start`](crate::VmContext::on_vm_start) or
/// [`on_configure`](crate::PluginContext::on_configure): Envoy keeps the
/// declaration on the calling context but `property::set` looks it up on
/// the plugin context, so a declaration made in a stream callback is not
/// used.
///
/// # Errors
/// An empty name is refused here (`BAD_ARGUMENT`); Envoy answers
/// `BAD_ARGUMENT` when the name is already declared on this context (so
/// does the emulator);
/// [`is_not_registered`] from a host without `declare_property` (Envoy 1.40 has
/// it).
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
/// # host.run(|| {
/// use proxywasm::foreign::{LifeSpan, Property, PropertyType, declare_property};
/// declare_property(&Property::new("tenant").kind(PropertyType::String).span(LifeSpan::Request))?;
/// assert!(declare_property(&Property::new("")).is_err());
/// // Once per context: a second declaration of the name is refused.
/// assert!(declare_property(&Property::new("tenant")).is_err());
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
pub fn declare_property(property: &Property<'_>) -> Result<()> {
    const CALL: &str = "proxy_call_foreign_function(declare_property)";
    if property.name.is_empty() {
        return Err(Error::host(CALL, Status::BadArgument));
    }
    envoy(CALL, "declare_property", &property.encode()).map(drop)
}

/// Sets Envoy filter state `key` of the current stream to the object
/// Envoy's factory named `key` makes from `value`, with Envoy's
/// `set_envoy_filter_state`. Only keys Envoy has an object factory for are
/// accepted (e.g. `envoy.network.upstream_server_name`, `envoy.string`);
/// other filters and the access log see the object.
///
/// Call it from a stream callback: elsewhere there is no stream.
///
/// # Errors
/// `NOT_FOUND`: Envoy has no object factory named `key`, or there is no
/// stream here (a plugin-context callback such as `on_tick`).
/// `BAD_ARGUMENT`: the factory refused `value` (e.g. not an IP address for
/// `envoy.network.ip`). An empty key is refused here with `BAD_ARGUMENT`.
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
/// # host.foreign_functions().register("set_envoy_filter_state", |_| Ok(Vec::new()));
/// # host.run(|| {
/// use proxywasm::foreign::{LifeSpan, set_envoy_filter_state};
/// set_envoy_filter_state("envoy.network.upstream_server_name", "backend.internal", LifeSpan::FilterChain)?;
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
pub fn set_envoy_filter_state(key: &str, value: &str, span: LifeSpan) -> Result<()> {
    const CALL: &str = "proxy_call_foreign_function(set_envoy_filter_state)";
    if key.is_empty() {
        return Err(Error::host(CALL, Status::BadArgument));
    }
    let arguments = Writer::new()
        .string(1, key)
        .string(2, value)
        .varint(3, u64::from(span.as_raw()))
        .finish();
    envoy(CALL, "set_envoy_filter_state", &arguments).map(drop)
}

/// What [`verify_signature`] found.
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
/// # host.foreign_functions().register("verify_signature", |_| Ok(b"\x12\x03bad".to_vec()));
/// # host.run(|| {
/// let v = proxywasm::foreign::verify_signature("sha256", b"key", b"signature", b"text")?;
/// assert!(!v.valid);
/// assert_eq!(v.reason, "bad");
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// Whether the signature is valid for the text and key.
    pub valid: bool,
    /// Why not, in the host's words (empty when valid).
    pub reason: String,
}

/// Checks `signature` over `text` with a public key (DER, the
/// `SubjectPublicKeyInfo` form, e.g. `openssl pkey -pubout -outform DER`)
/// and a hash function (`"sha256"`, `"sha384"`, `"sha512"`, `"sha1"`…),
/// with Envoy's `verify_signature`. Callable from any callback.
///
/// A signature that does not match, an unknown hash and a key Envoy cannot
/// use are all `Ok` with `valid: false` and Envoy's reason (e.g. `"md5 is
/// not supported."`, `"Failed to verify digest. Error code: 0"`).
///
/// # Errors
/// `BAD_ARGUMENT`: the key is empty; [`is_not_registered`] from a host without
/// `verify_signature` (Envoy 1.40 has it); a malformed answer is a
/// `malformed` error.
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
/// # host.foreign_functions().register("verify_signature", |_| Ok(vec![0x08, 0x01]));
/// # host.run(|| {
/// # let (key, signature) = (b"DER key".as_slice(), b"signature".as_slice());
/// let checked = proxywasm::foreign::verify_signature("sha256", key, signature, b"text")?;
/// assert!(checked.valid);
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
pub fn verify_signature(
    hash: &str,
    public_key: &[u8],
    signature: &[u8],
    text: &[u8],
) -> Result<Verification> {
    let arguments = Writer::new()
        .string(1, hash)
        .bytes(2, public_key)
        .bytes(3, signature)
        .bytes(4, text)
        .finish();
    let answer = envoy(
        "proxy_call_foreign_function(verify_signature)",
        "verify_signature",
        &arguments,
    )?;
    let (valid, reason) = decode_verification(&answer)?;
    Ok(Verification { valid, reason })
}

/// A compiled CEL expression held by the host (Envoy's `expr_create`,
/// `expr_evaluate`, `expr_delete`), evaluated against the attributes of the
/// callback that evaluates it; the host frees it when this value drops.
///
/// Envoy keeps expressions on the plugin context: create one in
/// `on_configure` and evaluate it in every stream. Evaluating in a callback
/// that lacks an attribute the expression reads (e.g. `request.path` in
/// `on_tick`) is an error.
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
/// # host.foreign_functions().expression("1 + 2", 3i64.to_le_bytes());
/// # host.run(|| {
/// use proxywasm::foreign::Expression;
/// let sum = Expression::new("1 + 2")?;
/// assert_eq!(sum.evaluate_as::<i64>()?, 3);
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct Expression {
    token: u32,
}

impl Expression {
    /// Parses and compiles `source` on the host.
    ///
    /// # Errors
    /// `BAD_ARGUMENT` when the expression does not parse or compile (Envoy
    /// logs why at info level); [`is_not_registered`] from a host without
    /// `expr_create` (Envoy 1.40 has it); a malformed token is a `malformed`
    /// error.
    ///
    /// ```
    /// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// # host.run(|| {
    /// assert!(proxywasm::foreign::Expression::new("1 +").is_err());
    /// # Ok::<(), proxywasm::Error>(()) }).unwrap();
    /// ```
    pub fn new(source: &str) -> Result<Expression> {
        let answer = envoy(
            "proxy_call_foreign_function(expr_create)",
            "expr_create",
            source.as_bytes(),
        )?;
        let token = <[u8; 4]>::try_from(answer.as_bytes())
            .map_err(|_| Error::malformed("expr_create: the token is not 4 bytes"))?;
        Ok(Expression {
            token: u32::from_le_bytes(token),
        })
    }

    /// The host's token for this expression.
    ///
    /// ```
    /// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// # host.foreign_functions().expression("true", [1]);
    /// # host.run(|| {
    /// let e = proxywasm::foreign::Expression::new("true")?;
    /// let _token: u32 = e.token();
    /// # Ok::<(), proxywasm::Error>(()) }).unwrap();
    /// ```
    pub fn token(&self) -> u32 {
        self.token
    }

    /// Evaluates the expression; the value comes encoded as a property value
    /// (book: reference/wire-formats.md#property-values).
    ///
    /// # Errors
    /// `INTERNAL_FAILURE` when evaluation fails (an attribute missing here);
    /// `SERIALIZATION_FAILURE` for a value with no encoding (null);
    /// `NOT_FOUND` when the host does not know the expression (created on
    /// another plugin context).
    ///
    /// ```
    /// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// # host.foreign_functions().expression("'a' + 'b'", *b"ab");
    /// # host.run(|| {
    /// let e = proxywasm::foreign::Expression::new("'a' + 'b'")?;
    /// assert_eq!(e.evaluate()?, "ab");
    /// # Ok::<(), proxywasm::Error>(()) }).unwrap();
    /// ```
    pub fn evaluate(&self) -> Result<HostBytes> {
        envoy(
            "proxy_call_foreign_function(expr_evaluate)",
            "expr_evaluate",
            &self.token.to_le_bytes(),
        )
    }

    /// Evaluates the expression and decodes the value as `T` (`i64`,
    /// `bool`, `String`, `f64`…, as for typed attributes).
    ///
    /// # Errors
    /// As [`evaluate`](Self::evaluate), and a `malformed` error when the
    /// value is not a `T`.
    ///
    /// ```
    /// # let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// # host.foreign_functions().expression("2 < 3", [1]);
    /// # host.run(|| {
    /// let e = proxywasm::foreign::Expression::new("2 < 3")?;
    /// assert!(e.evaluate_as::<bool>()?);
    /// # Ok::<(), proxywasm::Error>(()) }).unwrap();
    /// ```
    pub fn evaluate_as<T: FromAttribute>(&self) -> Result<T> {
        T::from_attribute(&self.evaluate()?)
    }
}

impl Drop for Expression {
    /// Frees the expression on the host (`expr_delete`); a failure is
    /// logged at warn level, never a panic.
    fn drop(&mut self) {
        let deleted = envoy(
            "proxy_call_foreign_function(expr_delete)",
            "expr_delete",
            &self.token.to_le_bytes(),
        );
        if let Err(e) = deleted {
            log::warn!("expression {} not freed: {e}", self.token);
        }
    }
}

one_liners! {
    /// Arguments of a host-initiated call (buffer `CALL_DATA`), e.g. in
    /// `on_foreign_function` or `on_resolve_dns`.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let _ = proxywasm::foreign::arguments().read_all();
    /// # Ok(()) });
    /// ```
    fn arguments() -> Buffer(buffer::CALL_DATA);
}
