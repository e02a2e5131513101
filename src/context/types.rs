use crate::abi::wire::buffer;
use crate::host::buffer::Buffer;
use crate::{HostBytes, Result};

/// What a stream callback tells the host to do next.
///
/// Envoy's treatment of [`Action::Pause`] depends on the callback
/// (book: reference/callbacks.md#return-values): from headers callbacks it
/// holds the whole stream, headers and body, until
/// [`crate::http::resume_request`]/`resume_response` (unless the filter sets
/// `allow_on_headers_stop_iteration`); from body callbacks it buffers, and the
/// next body callback reports the total buffered size; from TCP data callbacks
/// it holds the data.
///
/// ```
/// use proxywasm::Action;
/// assert_eq!(Action::default(), Action::Continue);
/// assert_eq!(Action::Pause.as_raw(), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Action {
    /// Let the data through (`0`).
    #[default]
    Continue,
    /// Hold the data until the plugin resumes the stream (`1`).
    Pause,
}

impl Action {
    /// The wire value.
    ///
    /// ```
    /// assert_eq!(proxywasm::Action::Continue.as_raw(), 0);
    /// ```
    pub const fn as_raw(self) -> u32 {
        match self {
            Action::Continue => 0,
            Action::Pause => 1,
        }
    }
}

/// Who closed a connection (book: reference/enumerations.md#peer-types).
///
/// ```
/// use proxywasm::PeerType;
/// assert_eq!(PeerType::from_raw(2), PeerType::Remote);
/// assert_eq!(PeerType::from_raw(9), PeerType::Unknown);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

/// The VM or plugin configuration, handed to [`VmContext::on_vm_start`] and
/// [`PluginContext::on_configure`]. Reading it is lazy: nothing is copied
/// until you ask.
///
/// [`VmContext::on_vm_start`]: crate::VmContext::on_vm_start
/// [`PluginContext::on_configure`]: crate::PluginContext::on_configure
///
/// # Examples
///
/// ```
/// use proxywasm::mock::MockHost;
/// use proxywasm::{Configuration, NoContext, PluginContext, Result};
///
/// struct Plugin(String);
/// impl PluginContext for Plugin {
///     type Http = NoContext;
///     type Tcp = NoContext;
///     fn on_configure(&mut self, config: Configuration) -> Result<()> {
///         self.0 = config.to_string_lossy()?;
///         proxywasm::log::info!("configured with {}", self.0);
///         Ok(())
///     }
/// }
///
/// let host = MockHost::builder().plugin_configuration("hello").plugin(|_| Plugin(String::new()));
/// assert!(host.start());
/// assert!(host.logs().contain("configured with hello"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Configuration {
    buffer: u32,
    size: usize,
}

impl Configuration {
    pub(crate) const fn vm(size: usize) -> Configuration {
        Configuration {
            buffer: buffer::VM_CONFIGURATION,
            size,
        }
    }

    pub(crate) const fn plugin(size: usize) -> Configuration {
        Configuration {
            buffer: buffer::PLUGIN_CONFIGURATION,
            size,
        }
    }

    /// The size in bytes the host announced.
    ///
    /// ```
    /// # let config = proxywasm::Configuration::for_tests(4);
    /// assert_eq!(config.len(), 4);
    /// ```
    pub const fn len(&self) -> usize {
        self.size
    }

    /// Whether the configuration is empty (none was set).
    ///
    /// ```
    /// # let config = proxywasm::Configuration::for_tests(0);
    /// assert!(config.is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.size == 0
    }

    #[doc(hidden)]
    pub const fn for_tests(size: usize) -> Configuration {
        Configuration::plugin(size)
    }

    /// The configuration bytes.
    ///
    /// # Errors
    /// The hostcall's status if the host cannot provide it.
    ///
    /// ```
    /// # use proxywasm::mock::MockHost;
    /// # use proxywasm::{Configuration, NoContext, PluginContext, Result};
    /// # struct P;
    /// # impl PluginContext for P { type Http = NoContext; type Tcp = NoContext;
    /// fn on_configure(&mut self, config: Configuration) -> Result<()> {
    ///     assert_eq!(config.bytes()?.as_bytes(), b"\x01\x02");
    ///     Ok(())
    /// }
    /// # }
    /// # let host = MockHost::builder().plugin_configuration(vec![1, 2]).plugin(|_| P);
    /// # assert!(host.start());
    /// ```
    pub fn bytes(&self) -> Result<HostBytes> {
        if self.size == 0 {
            return Ok(HostBytes::default());
        }
        Ok(Buffer::new(self.buffer)
            .read(0, self.size)?
            .unwrap_or_default())
    }

    /// The configuration as text, with invalid UTF-8 replaced by U+FFFD.
    ///
    /// # Errors
    /// As [`Configuration::bytes`].
    ///
    /// ```
    /// # use proxywasm::mock::MockHost;
    /// # use proxywasm::{Configuration, NoContext, PluginContext, Result};
    /// # struct P;
    /// # impl PluginContext for P { type Http = NoContext; type Tcp = NoContext;
    /// fn on_configure(&mut self, config: Configuration) -> Result<()> {
    ///     assert_eq!(config.to_string_lossy()?, "text");
    ///     Ok(())
    /// }
    /// # }
    /// # let host = MockHost::builder().plugin_configuration("text").plugin(|_| P);
    /// # assert!(host.start());
    /// ```
    pub fn to_string_lossy(&self) -> Result<String> {
        let bytes = self.bytes()?;
        Ok(match bytes.into_string() {
            Ok(text) => text,
            Err(bytes) => bytes.to_string_lossy().into_owned(),
        })
    }

    /// Parses the configuration as JSON into `T` (feature `json`).
    ///
    /// On a bad document the error names the problem and the position, and
    /// the field of a value of the wrong type or shape, e.g. ``invalid type:
    /// integer `5`, expected a string at line 1 column 30 (field `value`)``; a
    /// syntax error names the position alone, and an empty or absent
    /// configuration says "the configuration is empty". Return it from
    /// `on_configure` and the SDK logs it and refuses to start the plugin.
    ///
    /// # Errors
    /// [`Error::config`](crate::Error::config) for a document that does not
    /// parse as `T`; the hostcall's error if the bytes cannot be read.
    ///
    /// ```
    /// # use proxywasm::mock::MockHost;
    /// # use proxywasm::{Configuration, NoContext, PluginContext, Result};
    /// #[derive(serde::Deserialize)]
    /// struct Config {
    ///     header: String,
    /// }
    /// # struct P;
    /// # impl PluginContext for P { type Http = NoContext; type Tcp = NoContext;
    /// fn on_configure(&mut self, config: Configuration) -> Result<()> {
    ///     let config: Config = config.json()?;
    ///     assert_eq!(config.header, "x-a");
    ///     Ok(())
    /// }
    /// # }
    /// # let host = MockHost::builder().plugin_configuration(r#"{"header": "x-a"}"#).plugin(|_| P);
    /// # assert!(host.start());
    /// ```
    #[cfg(feature = "json")]
    #[cfg_attr(docsrs, doc(cfg(feature = "json")))]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let bytes = self.bytes()?;
        crate::host::json::parse(bytes.as_bytes())
    }
}

/// What [`HttpContext::on_http_call_response`] and friends receive: the shape
/// of an HTTP callout's response. Read its parts with
/// [`crate::callout::response_headers`], [`crate::callout::response_body`] and
/// [`crate::callout::response_trailers`] while the callback runs.
///
/// [`HttpContext::on_http_call_response`]: crate::HttpContext::on_http_call_response
///
/// ```
/// let response = proxywasm::HttpCallResponse { num_headers: 0, body_size: 0, num_trailers: 0 };
/// assert!(response.is_failure());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpCallResponse {
    /// Number of response headers; `0` means the call failed (reset, overflow).
    pub num_headers: usize,
    /// Size of the response body in bytes.
    pub body_size: usize,
    /// Number of response trailers.
    pub num_trailers: usize,
}

impl HttpCallResponse {
    /// Whether the call failed without a response (Envoy signals this with
    /// zero headers; a timeout instead arrives as a `:status` 504 response).
    ///
    /// ```
    /// let ok = proxywasm::HttpCallResponse { num_headers: 3, body_size: 2, num_trailers: 0 };
    /// assert!(!ok.is_failure());
    /// ```
    pub const fn is_failure(&self) -> bool {
        self.num_headers == 0
    }
}

/// A gRPC callout event, delivered to the context that made the call.
///
/// ```
/// use proxywasm::GrpcEvent;
/// let event = GrpcEvent::Close { status: 14 };
/// assert!(matches!(event, GrpcEvent::Close { status: 14 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrpcEvent {
    /// Initial metadata arrived (stream); read it with [`crate::callout::grpc_initial_metadata`].
    InitialMetadata {
        /// Number of entries.
        count: usize,
    },
    /// A message arrived; read it with [`crate::callout::grpc_message`]. For a
    /// unary call this is the (successful) response, and no `Close` follows.
    Message {
        /// Message size in bytes.
        size: usize,
    },
    /// Trailing metadata arrived (stream); read it with [`crate::callout::grpc_trailing_metadata`].
    TrailingMetadata {
        /// Number of entries.
        count: usize,
    },
    /// The call or stream closed with this gRPC status (`0` = OK); the message
    /// is available from [`crate::callout::grpc_status`].
    Close {
        /// The gRPC status code.
        status: u32,
    },
}

/// The context type of a plugin that has no HTTP or no TCP streams. It has no
/// values, so the code for the unused kind is compiled out.
///
/// ```
/// use proxywasm::{NoContext, PluginContext};
/// struct OnlyTicks;
/// impl PluginContext for OnlyTicks {
///     type Http = NoContext;
///     type Tcp = NoContext;
/// }
/// # let _ = OnlyTicks;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoContext {}

impl crate::HttpContext for NoContext {}
impl crate::TcpContext for NoContext {}
