//! The plugin's own calls and data: its [`Configuration`], the effective
//! context, and deferred plugin shutdown.

use crate::HostBytes;
use crate::Result;
use crate::abi::calls;
use crate::abi::wire::buffer;
use crate::buffer::Buffer;
use crate::error::check;
use crate::runtime::{self, ContextId};

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

    /// Parses the configuration as JSON into `T` (feature `json`), in each
    /// form Envoy sends it: a `StringValue` (the text) or `BytesValue` (the
    /// bytes) holding a JSON document, or a `google.protobuf.Struct`, which
    /// Envoy hands over in binary protobuf and which is read through its JSON
    /// mapping (numbers are doubles; a whole one fills an integer field).
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
        crate::json::parse_configuration(bytes.as_bytes())
    }
}

/// Makes `context` the target of the following hostcalls until the current
/// callback returns — e.g. to resume a paused stream from `on_tick`. Callouts
/// made afterwards answer to that context.
///
/// # Errors
/// `BAD_ARGUMENT` when `context` is not live (the stream ended).
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let err = proxywasm::plugin::set_effective_context(proxywasm::ContextId(999)).unwrap_err();
/// assert_eq!(err.status(), Some(proxywasm::Status::BadArgument));
/// # Ok(()) });
/// ```
pub fn set_effective_context(context: ContextId) -> Result<()> {
    check(
        "proxy_set_effective_context",
        calls::set_effective_context(context.0),
    )?;
    runtime::set_active(context.0);
    Ok(())
}

/// Finishes a plugin whose `on_done` returned `false`.
///
/// # Errors
/// `NOT_FOUND` when the plugin is not pending shutdown.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// assert!(proxywasm::plugin::done().is_err()); // not shutting down
/// # Ok(()) });
/// ```
pub fn done() -> Result<()> {
    check("proxy_done", calls::done())
}

/// The context whose callback is running (or that was made effective), or
/// `ContextId(0)` outside callbacks.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// assert_ne!(proxywasm::plugin::current_context(), proxywasm::ContextId(0));
/// # Ok(()) });
/// ```
pub fn current_context() -> ContextId {
    ContextId(runtime::active())
}

/// The VM configuration (`vm_config.configuration`), readable at any time
/// (Envoy does not restrict it), e.g. from `on_configure` or `on_tick` when the
/// VM context kept nothing. Empty when none is set.
///
/// # Errors
/// The hostcall's status, if it fails.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let config = proxywasm::plugin::vm_configuration()?;
/// assert!(config.is_empty()); // the doc host sets none
/// # Ok(()) });
/// ```
pub fn vm_configuration() -> Result<crate::HostBytes> {
    crate::buffer::Buffer::new(crate::abi::wire::buffer::VM_CONFIGURATION).read_all()
}
