//! `proxywasm-foreign-functions`: a plugin that calls each typed helper of
//! [`proxywasm::foreign`], so the tests can check what crosses the ABI
//! (arguments encoded, answers decoded, expressions freed) natively and on
//! the `.wasm`.
//!
//! `on_configure` declares the property [`DECLARED`] and compiles the CEL
//! expression [`KEPT`]. The request's `:path` picks what a stream does; each
//! logs one line at info level (a failure at warn level):
//! - `/compress`: compresses the `x-data` header and inflates it again:
//!   `compress: N bytes, header 78 9c, round trip true`;
//! - `/uncompress`: inflates the `x-data` header: `uncompress: …`;
//! - `/route`: `clear_route_cache: ok`;
//! - `/property`: sets [`DECLARED`] to `x-data` and reads it back;
//! - `/filter-state`: `set_envoy_filter_state("envoy.string", x-data)`;
//! - `/verify`: `verify_signature("sha256", "key", "signature", x-data)`;
//! - `/expr`: evaluates the expression in `x-data` once, and [`KEPT`];
//! - `/raw`: the raw `foreign::call` of the name in `x-data`.
//!
//! A failure whose function the host does not have is logged with
//! ` (not registered)` after the error.

use proxywasm::foreign::{self, Expression, LifeSpan, Property, PropertyType};
use proxywasm::log::{info, warn};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, http, property,
};
use std::rc::Rc;

/// The property `on_configure` declares.
pub const DECLARED: &str = "tenant";
/// The expression `on_configure` compiles and every `/expr` evaluates.
pub const KEPT: &str = "request.path";

/// The plugin context: the expression compiled at configure time.
#[derive(Debug, Default)]
pub struct Plugin {
    kept: Option<Rc<Expression>>,
}

impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
        foreign::declare_property(
            &Property::new(DECLARED)
                .kind(PropertyType::String)
                .span(LifeSpan::Request),
        )?;
        self.kept = Some(Rc::new(Expression::new(KEPT)?));
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        Some(Filter {
            kept: self.kept.clone(),
        })
    }
}

/// The HTTP filter.
#[derive(Debug)]
pub struct Filter {
    kept: Option<Rc<Expression>>,
}

fn data() -> Result<Vec<u8>> {
    Ok(http::request_headers()
        .get("x-data")?
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default())
}

fn text() -> Result<String> {
    Ok(String::from_utf8_lossy(&data()?).into_owned())
}

impl Filter {
    fn serve(&self, path: &[u8]) -> Result<Option<String>> {
        Ok(Some(match path {
            b"/compress" => {
                let packed = foreign::compress(&data()?)?;
                let round = foreign::uncompress(&packed)?;
                format!(
                    "compress: {} bytes, header {:02x} {:02x}, round trip {}",
                    packed.len(),
                    packed.first().copied().unwrap_or(0),
                    packed.get(1).copied().unwrap_or(0),
                    round.as_bytes() == data()?.as_slice()
                )
            }
            b"/uncompress" => format!("uncompress: {}", foreign::uncompress(&data()?)?),
            b"/route" => {
                foreign::clear_route_cache()?;
                "clear_route_cache: ok".to_string()
            }
            b"/property" => {
                property::set(&[DECLARED], &data()?)?;
                let read = property::get(&[DECLARED])?.unwrap_or_default();
                format!("property: {read}")
            }
            b"/filter-state" => {
                foreign::set_envoy_filter_state("envoy.string", &text()?, LifeSpan::Request)?;
                "set_envoy_filter_state: ok".to_string()
            }
            b"/verify" => {
                let v = foreign::verify_signature("sha256", b"key", b"signature", &data()?)?;
                format!("verify_signature: valid {}, reason {:?}", v.valid, v.reason)
            }
            b"/expr" => {
                let once = Expression::new(&text()?)?;
                let value = once.evaluate()?;
                let kept = match &self.kept {
                    Some(kept) => kept.evaluate_as::<String>()?,
                    None => "none".to_string(),
                };
                format!(
                    "expr: token {}, value {:?}, kept {kept}",
                    once.token(),
                    value.as_bytes()
                )
            }
            b"/raw" => match foreign::call(&text()?, b"")? {
                Some(out) => format!("raw: Some({} bytes)", out.len()),
                None => "raw: None".to_string(),
            },
            _ => return Ok(None),
        }))
    }
}

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let path = http::request_headers().get(":path").ok().flatten();
        match self.serve(path.as_ref().map_or(&b""[..], |p| p.as_bytes())) {
            Ok(Some(line)) => info!("{line}"),
            Ok(None) => {}
            Err(e) if foreign::is_not_registered(&e) => warn!("{e} (not registered)"),
            Err(e) => warn!("{e}"),
        }
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}
