//! The configuration decoders on arbitrary bytes, delivered as Envoy does
//! (`proxy_on_configure` with the size, the plugin reading the buffer):
//! `Configuration::bytes`, `to_string_lossy` and `json` into a typed
//! configuration and into `serde_json::Value`. The bytes arrive intact, the
//! typed decoder accepts exactly what `serde_json` accepts, or a serialized
//! `google.protobuf.Struct` (read through its JSON mapping; an empty
//! configuration is refused with its own message), and a field an error
//! names is a key of the document.
#![no_main]

use std::cell::RefCell;
use std::rc::Rc;

use libfuzzer_sys::fuzz_target;
use proxywasm::mock::MockHost;
use proxywasm::{Configuration, NoContext, PluginContext, Result};

#[derive(serde::Deserialize, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Config {
    header: String,
    #[serde(default)]
    limit: u32,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    upstream: Option<Upstream>,
}

#[derive(serde::Deserialize, Debug, PartialEq)]
#[serde(rename_all = "snake_case")]
enum Mode {
    Allow,
    Deny { status: u16 },
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Upstream {
    cluster: String,
    timeout_ms: Option<u64>,
}

#[derive(Default)]
struct Seen {
    bytes: Option<Vec<u8>>,
    text: Option<String>,
    typed: Option<std::result::Result<Config, String>>,
    value: Option<std::result::Result<serde_json::Value, String>>,
}

struct Plugin(Rc<RefCell<Seen>>);

impl PluginContext for Plugin {
    type Http = NoContext;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let mut seen = self.0.borrow_mut();
        seen.bytes = configuration.bytes().ok().map(|b| b.into_vec());
        seen.text = configuration.to_string_lossy().ok();
        seen.typed = Some(configuration.json::<Config>().map_err(|e| e.to_string()));
        seen.value = Some(
            configuration
                .json::<serde_json::Value>()
                .map_err(|e| e.to_string()),
        );
        Ok(())
    }
}

fn compare<T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
    data: &[u8],
    ours: std::result::Result<T, String>,
) {
    let empty = data.trim_ascii().is_empty();
    match (ours, serde_json::from_slice::<T>(data)) {
        (Ok(ours), Ok(theirs)) => {
            assert!(!empty);
            assert_eq!(ours, theirs);
        }
        (Err(message), theirs) => {
            assert!(message.starts_with("invalid configuration: "), "{message}");
            if empty {
                assert!(message.contains("the configuration is empty"), "{message}");
            } else {
                assert!(
                    theirs.is_err(),
                    "refused what serde_json accepts: {message}"
                );
            }
            // A field named by the SDK (not by serde) is a key of the document.
            if let Some(field) = message
                .strip_suffix("`)")
                .and_then(|m| m.rsplit_once(" (field `"))
                .map(|(_, f)| f)
            {
                let key = format!("\"{field}\"");
                assert!(
                    String::from_utf8_lossy(data).contains(&key),
                    "{message} names a field not in the document"
                );
            }
        }
        // A serialized google.protobuf.Struct (first byte 0x0a, field 1) is
        // read through its JSON mapping: accepted where the text is not JSON.
        (Ok(_), Err(_)) if data.first() == Some(&0x0a) => {}
        (Ok(_), Err(e)) => panic!("accepted what serde_json refuses: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let seen = Rc::new(RefCell::new(Seen::default()));
    let plugin_seen = Rc::clone(&seen);
    let host = MockHost::builder()
        .echo_logs(false)
        .plugin_configuration(data.to_vec())
        .plugin(move |_| Plugin(Rc::clone(&plugin_seen)));
    assert!(host.start());
    let seen = seen.take();
    assert_eq!(seen.bytes.as_deref(), Some(data));
    assert_eq!(
        seen.text.as_deref(),
        Some(String::from_utf8_lossy(data).as_ref())
    );
    compare(data, seen.typed.expect("on_configure ran"));
    compare(data, seen.value.expect("on_configure ran"));
});
