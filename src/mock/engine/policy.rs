//! The policy: what the plugin may call when. One place decides, for both
//! front doors: Envoy's start-up rule (restricted mode), and strict mode.

use super::state::HostState;
use proxywasm_abi::Export;

/// Hostcalls Envoy allows during start-up, besides WASI (see
/// [`HostState::admit`]).
pub const START_UP_HOSTCALLS: [&str; 2] = ["proxy_log", "emscripten_notify_memory_growth"];

/// Hostcalls strict mode always allows: the SDK makes them on its own
/// (logging, its level check, and callout routing).
pub const AMBIENT_HOSTCALLS: [&str; 3] = [
    "proxy_log",
    "proxy_get_log_level",
    "proxy_set_effective_context",
];

impl HostState {
    /// Envoy's start-up rule: while the module starts (`_initialize`, `main`,
    /// static constructors; natively the builder's `on_initialize` code) only
    /// [`START_UP_HOSTCALLS`] (and WASI) may be called; Envoy traps on any
    /// other hostcall and the VM fails. Both front doors ask this before
    /// serving a hostcall, and trap when it refuses.
    ///
    /// # Errors
    /// The trap's reason (the violation, which is also recorded) for a
    /// refused hostcall, when [`Fidelity::restricted_start_up`] is on.
    pub fn admit(&mut self, name: &'static str) -> Result<(), String> {
        if self.running() != Some(Export::Initialize)
            || START_UP_HOSTCALLS.contains(&name)
            || !self.config.fidelity.restricted_start_up
        {
            return Ok(());
        }
        self.violate(
            Some(name),
            "a hostcall during start-up (`_initialize`, `main`, static constructors): Envoy allows only \
             proxy_log there and fails the VM",
        );
        let violation = self.violations.last().map(ToString::to_string);
        Err(format!(
            "restricted_callback: {}",
            violation.unwrap_or_default()
        ))
    }

    /// Every hostcall starts here: counts it and applies strict mode.
    ///
    /// # Errors
    /// None today; a `Result` so that a rule may refuse with a status.
    pub fn enter(&mut self, name: &'static str) -> Result<(), u32> {
        *self.hostcall_counts.entry(name).or_insert(0) += 1;
        if self.config.strict
            && !AMBIENT_HOSTCALLS.contains(&name)
            && !self.config.expected_hostcalls.contains(name)
        {
            let expected: Vec<&str> = self
                .config
                .expected_hostcalls
                .iter()
                .map(String::as_str)
                .collect();
            self.violate(
                Some(name),
                format!(
                    "strict mode: the test did not expect this hostcall (expected: [{}]; always allowed: {})",
                    expected.join(", "),
                    AMBIENT_HOSTCALLS.join(", ")
                ),
            );
        }
        Ok(())
    }
}
