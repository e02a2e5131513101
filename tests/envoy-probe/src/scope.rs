//! The scope of shared data (book: reference/hostcalls.md#shared-data,
//! state.md#shared-data): every plugin writes `probe-scope:PLUGIN` in
//! `on_configure` ([`in_configure`]); `GET /routed`'s `on_request_headers`
//! (VM `envoy_probe`) and the TCP `on_new_connection` (VM `tcp_probe`) look
//! for the keys of plugins in their own and in other VMs ([`seen_from`]).
//! The checks are in `xtask/src/probe_claims.rs`.

use crate::{err, observe, plugin_name};
use proxywasm::shared;

/// The plugins whose keys are looked for: two of VM `envoy_probe`, the one
/// of VM `tcp_probe`, one of VM `actions_probe`.
pub const PLUGINS: [&str; 4] = [
    "envoy_probe",
    "struct_config",
    "tcp_probe",
    "actions_default",
];

/// Writes this plugin's key, unconditionally (CAS 0).
pub fn in_configure() {
    let key = format!("probe-scope:{}", plugin_name());
    if let Err(e) = shared::set(&key, b"here", None) {
        observe(&format!("shared_data scope set[{key}]"), &err(&e));
    }
}

/// Logs `shared_data scope[from VM] probe-scope:PLUGIN = found | NOT_FOUND`.
pub fn seen_from(vm: &str) {
    for plugin in PLUGINS {
        let key = format!("probe-scope:{plugin}");
        let shown = match shared::get(&key) {
            Ok(Some(_)) => "found".to_string(),
            Ok(None) => "NOT_FOUND".to_string(),
            Err(e) => err(&e),
        };
        observe(&format!("shared_data scope[from {vm}] {key}"), &shown);
    }
}
