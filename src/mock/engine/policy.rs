//! The policy: what the plugin may call when. One object, [`Policy`],
//! decides for both front doors (the native one and `proxywasm-wasmtime`), so
//! a hostcall behaves the same natively and on the `.wasm`:
//!
//! * **restricted mode** (Envoy's rule): during start-up only `proxy_log`,
//!   `emscripten_notify_memory_growth` and WASI; inside the allocation export
//!   only `proxy_log` and WASI `fd_write`, `clock_time_get`, `poll_oneoff`.
//!   Anything else **traps**, as in Envoy, where it fails the VM
//!   (book: reference/lifecycle.md#start-up-and-the-restricted-phase,
//!   reference/memory.md#the-allocation-export);
//! * **strict mode** (the test's rule): a hostcall the test did not expect is
//!   a violation, and the test fails when the callback returns.

use super::state::{HostState, VmConfig};
use proxywasm_abi::Export;

/// Hostcalls Envoy allows during start-up, besides WASI (see
/// [`Policy::refuses`]).
pub const START_UP_HOSTCALLS: [&str; 2] = ["proxy_log", "emscripten_notify_memory_growth"];

/// Hostcalls Envoy allows inside the allocation export (see
/// [`Policy::refuses`]).
pub const ALLOCATOR_HOSTCALLS: [&str; 4] =
    ["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"];

/// Hostcalls strict mode always allows: the SDK makes them on its own
/// (logging, its level check, and callout routing).
pub const AMBIENT_HOSTCALLS: [&str; 3] = [
    "proxy_log",
    "proxy_get_log_level",
    "proxy_set_effective_context",
];

/// Where the plugin is when it makes a hostcall, as the [`Policy`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// A callback, or test code run inside a context: every hostcall.
    Callback,
    /// Module start-up (`_initialize`, `main`, static constructors; natively
    /// the builder's `on_initialize` code): restricted mode.
    StartUp,
    /// Inside the allocation export, while the host hands a result over:
    /// restricted mode.
    Allocating,
}

/// What is allowed when: one decision for both front doors, read from the
/// VM's configuration ([`Fidelity::restricted_start_up`](super::Fidelity),
/// strict mode and the hostcalls the test expects).
///
/// ```
/// use proxywasm::mock::engine::{Phase, Policy, VmConfig};
///
/// let config = VmConfig::default();
/// let policy = Policy::of(&config);
/// assert_eq!(policy.refuses(Phase::StartUp, "proxy_log"), None);
/// assert_eq!(policy.refuses(Phase::StartUp, "fd_write"), None); // WASI
/// assert!(policy.refuses(Phase::StartUp, "proxy_define_metric").is_some());
/// assert!(policy.refuses(Phase::Allocating, "proxy_done").is_some());
/// assert_eq!(policy.refuses(Phase::Callback, "proxy_done"), None);
/// assert!(policy.expects("proxy_done")); // not in strict mode
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Policy<'a> {
    config: &'a VmConfig,
}

impl<'a> Policy<'a> {
    /// The policy of a VM configured by `config`.
    pub fn of(config: &'a VmConfig) -> Policy<'a> {
        Policy { config }
    }

    /// Restricted mode: `None` when hostcall `name` may run in `phase`,
    /// otherwise the rule it breaks (the front door traps).
    pub fn refuses(&self, phase: Phase, name: &str) -> Option<&'static str> {
        if !self.config.fidelity.restricted_start_up {
            return None;
        }
        let wasi = proxywasm_abi::WASI_IMPORTS.iter().any(|(n, _)| *n == name);
        match phase {
            Phase::StartUp if !wasi && !START_UP_HOSTCALLS.contains(&name) => Some(
                "a hostcall during start-up (`_initialize`, `main`, static constructors): Envoy \
                 allows only proxy_log there and fails the VM",
            ),
            Phase::Allocating if !ALLOCATOR_HOSTCALLS.contains(&name) => Some(
                "a hostcall from inside the allocation export while the host was handing over a \
                 result: Envoy allows only proxy_log, fd_write, clock_time_get and poll_oneoff \
                 there and fails the VM",
            ),
            _ => None,
        }
    }

    /// Strict mode: whether the test expects hostcall `name` (always, outside
    /// strict mode).
    pub fn expects(&self, name: &str) -> bool {
        !self.config.strict
            || AMBIENT_HOSTCALLS.contains(&name)
            || self.config.expected_hostcalls.contains(name)
    }
}

impl HostState {
    /// The plugin's phase now, for the [`Policy`].
    pub fn phase(&self) -> Phase {
        if self.handing_over > 0 {
            Phase::Allocating
        } else if self.running() == Some(Export::Initialize) {
            Phase::StartUp
        } else {
            Phase::Callback
        }
    }

    /// Restricted mode ([`Policy::refuses`]) for hostcall `name` now. Both
    /// front doors ask this before serving any hostcall, WASI included, and
    /// trap when it refuses.
    ///
    /// # Errors
    /// The trap's reason (the violation, which is also recorded).
    pub fn admit(&mut self, name: &'static str) -> Result<(), String> {
        let Some(rule) = Policy::of(&self.config).refuses(self.phase(), name) else {
            return Ok(());
        };
        self.violate(Some(name), rule);
        let violation = self.violations.last().map(ToString::to_string);
        Err(format!(
            "restricted_callback: {}",
            violation.unwrap_or_default()
        ))
    }

    /// Every hostcall starts here: counts it and applies strict mode
    /// ([`Policy::expects`]).
    ///
    /// # Errors
    /// None today; a `Result` so that a rule may refuse with a status.
    pub fn enter(&mut self, name: &'static str) -> Result<(), u32> {
        *self.hostcall_counts.entry(name).or_insert(0) += 1;
        self.last_hostcall = name;
        if !Policy::of(&self.config).expects(name) {
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
