//! [`EnvoyVms`]: the VMs Envoy runs for one plugin configuration, so a test
//! sees as many `on_configure` calls and ticking VMs as Envoy makes.

use super::{MockHost, MockHostBuilder, MockWorld};
use core::borrow::Borrow;
use core::time::Duration;

/// The VMs Envoy 1.40 runs for a plugin with `--concurrency N`, in one
/// [`MockWorld`] (one Envoy process: shared data, queues and metrics in
/// common): the **canary**, which Envoy starts on the main thread to check
/// the configuration and then throws away; the **main thread's VM**, which
/// is configured and ticks but serves no traffic; and **N workers**. So a
/// plugin is configured N + 2 times and N + 1 VMs tick
/// (book: reference/envoy-1.40.md#which-vms-run-and-tick); a plugin that
/// counts, calls out or writes shared data from `on_configure` or `on_tick`
/// does it that many times, and a test with `EnvoyVms` sees it.
///
/// Each VM is a host made by the function given to [`EnvoyVms::new`]: a
/// [`MockHost`], or anything that borrows as one (the `proxywasm-wasmtime`
/// engine's host, to run the same on the `.wasm`).
///
/// # Examples
///
/// ```
/// use proxywasm::mock::EnvoyVms;
/// use proxywasm::{Configuration, NoContext, PluginContext, Result, shared};
/// use std::time::Duration;
///
/// struct Refresh;
/// impl PluginContext for Refresh {
///     type Http = NoContext;
///     type Tcp = NoContext;
///     fn on_configure(&mut self, _c: Configuration) -> Result<()> {
///         shared::Counter::new("configured").add(1)?;
///         proxywasm::time::set_tick_period(Duration::from_secs(1))
///     }
///     fn on_tick(&mut self) -> Result<()> {
///         let _ = shared::Counter::new("ticks").add(1);
///         Ok(())
///     }
/// }
///
/// let envoy = EnvoyVms::new(4, |builder| builder.plugin(|_| Refresh));
/// assert!(envoy.start());
/// envoy.advance(Duration::from_secs(1));
/// let count = |key| u64::from_le_bytes(envoy.world().shared_data("", key).unwrap().0.try_into().unwrap());
/// assert_eq!(count("configured"), 6); // canary, main thread, 4 workers
/// assert_eq!(count("ticks"), 5); // main thread and 4 workers, not the canary
/// ```
#[derive(Debug)]
pub struct EnvoyVms<H = MockHost> {
    world: MockWorld,
    canary: H,
    main: H,
    workers: Vec<H>,
}

impl<H: Borrow<MockHost>> EnvoyVms<H> {
    /// Builds the canary, the main thread's VM and `concurrency` workers,
    /// each with `make(builder)`; the builders share a new [`MockWorld`].
    /// Nothing is started yet: [`EnvoyVms::start`].
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(2, |b| b.vm_id("edge").http(|_| proxywasm::mock::Noop));
    /// assert_eq!(envoy.workers().count(), 2);
    /// assert_eq!(envoy.main_thread().vm_id(), "edge");
    /// ```
    pub fn new(concurrency: usize, make: impl Fn(MockHostBuilder) -> H) -> EnvoyVms<H> {
        let world = MockWorld::new();
        let build = || make(MockHost::builder().world(&world));
        let canary = build();
        let main = build();
        let workers = (0..concurrency).map(|_| build()).collect();
        EnvoyVms {
            world,
            canary,
            main,
            workers,
        }
    }

    /// Starts the VMs in Envoy's order: the canary first (if it fails, Envoy
    /// rejects the configuration and starts nothing else: false), then the
    /// main thread's VM and the workers. True if every VM started.
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(1, |b| b.http(|_| proxywasm::mock::Noop));
    /// assert!(envoy.start());
    /// assert!(envoy.canary().is_started());
    /// ```
    pub fn start(&self) -> bool {
        if !self.canary.borrow().start() {
            return false;
        }
        let mut all = true;
        for vm in self.ticking() {
            all &= vm.start();
        }
        all
    }

    /// The world the VMs share (one Envoy process).
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(1, |b| b.http(|_| proxywasm::mock::Noop));
    /// envoy.world().set_shared_data("", "k", b"v");
    /// assert_eq!(envoy.worker(0).shared_data().get("k").unwrap().0, b"v");
    /// ```
    pub fn world(&self) -> &MockWorld {
        &self.world
    }

    /// The canary: started and configured, never ticked, never given a
    /// stream.
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(1, |b| b.http(|_| proxywasm::mock::Noop));
    /// assert!(!envoy.canary().is_started());
    /// ```
    pub fn canary(&self) -> &MockHost {
        self.canary.borrow()
    }

    /// The main thread's VM: configured and ticking, serving no traffic.
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(1, |b| b.http(|_| proxywasm::mock::Noop));
    /// assert!(envoy.start());
    /// assert!(envoy.main_thread().is_started());
    /// ```
    pub fn main_thread(&self) -> &MockHost {
        self.main.borrow()
    }

    /// Worker `index` (from 0): where streams run.
    ///
    /// # Panics
    /// If there is no such worker.
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(2, |b| b.http(|_| proxywasm::mock::Noop));
    /// let mut stream = envoy.worker(1).http_stream();
    /// stream.request_headers(&[(":path", "/")], true);
    /// ```
    pub fn worker(&self, index: usize) -> &MockHost {
        match self.workers.get(index) {
            Some(worker) => worker.borrow(),
            None => panic!(
                "no worker {index}: this Envoy has {} (its --concurrency)",
                self.workers.len()
            ),
        }
    }

    /// The workers, in order.
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(3, |b| b.http(|_| proxywasm::mock::Noop));
    /// assert_eq!(envoy.workers().count(), 3);
    /// ```
    pub fn workers(&self) -> impl Iterator<Item = &MockHost> {
        self.workers.iter().map(Borrow::borrow)
    }

    /// The VMs that tick: the main thread's and the workers (N + 1).
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(4, |b| b.http(|_| proxywasm::mock::Noop));
    /// assert_eq!(envoy.ticking().len(), 5);
    /// ```
    pub fn ticking(&self) -> Vec<&MockHost> {
        core::iter::once(self.main.borrow())
            .chain(self.workers())
            .collect()
    }

    /// Every VM, in start order: canary, main thread, workers (N + 2).
    ///
    /// ```
    /// let envoy = proxywasm::mock::EnvoyVms::new(4, |b| b.http(|_| proxywasm::mock::Noop));
    /// assert_eq!(envoy.all().len(), 6);
    /// ```
    pub fn all(&self) -> Vec<&MockHost> {
        core::iter::once(self.canary.borrow())
            .chain(self.ticking())
            .collect()
    }

    /// One tick now in every ticking VM whose plugin set a tick period (the
    /// main thread's and the workers'; never the canary).
    ///
    /// # Panics
    /// If no ticking VM set a tick period: Envoy would never tick.
    ///
    /// ```
    /// use proxywasm::{Configuration, NoContext, PluginContext, Result};
    /// struct Ticker;
    /// impl PluginContext for Ticker {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_configure(&mut self, _c: Configuration) -> Result<()> {
    ///         proxywasm::time::set_tick_period(std::time::Duration::from_secs(5))
    ///     }
    ///     fn on_tick(&mut self) -> Result<()> { proxywasm::log::info!("tick"); Ok(()) }
    /// }
    /// let envoy = proxywasm::mock::EnvoyVms::new(2, |b| b.plugin(|_| Ticker));
    /// assert!(envoy.start());
    /// envoy.tick();
    /// let ticks: usize = envoy.all().iter().map(|vm| vm.logs().info().len()).sum();
    /// assert_eq!(ticks, 3);
    /// assert!(envoy.canary().logs().info().is_empty());
    /// ```
    pub fn tick(&self) {
        let ticking: Vec<&MockHost> = self
            .ticking()
            .into_iter()
            .filter(|vm| vm.vm.ticks())
            .collect();
        assert!(
            !ticking.is_empty(),
            "tick(): no ticking VM (main thread or worker) set a tick period, so Envoy would never call \
             proxy_on_tick"
        );
        for vm in ticking {
            vm.time().tick();
        }
    }

    /// Moves every ticking VM's clock forward by `by`, firing their ticks
    /// and callout timeouts in time order across the VMs (at the same
    /// instant: the main thread's VM first, then the workers in order). The
    /// canary's clock stands still: Envoy has thrown it away.
    ///
    /// ```
    /// use std::time::Duration;
    /// let envoy = proxywasm::mock::EnvoyVms::new(1, |b| b.http(|_| proxywasm::mock::Noop));
    /// envoy.advance(Duration::from_secs(2));
    /// let moved = envoy.worker(0).time().now().duration_since(envoy.canary().time().now()).unwrap();
    /// assert_eq!(moved, Duration::from_secs(2));
    /// ```
    pub fn advance(&self, by: Duration) {
        let vms = self.ticking();
        let start = vms.iter().map(|vm| vm.vm.now()).max().unwrap_or(0);
        let target = start.saturating_add(u64::try_from(by.as_nanos()).unwrap_or(u64::MAX));
        let step_to = |time: u64| {
            for vm in &vms {
                let now = vm.vm.now();
                if time > now {
                    vm.time().advance(Duration::from_nanos(time - now));
                }
            }
        };
        // Each step fires what is due at `next` in every VM, whose timers
        // then re-arm later; `floor` keeps a due time that did not fire
        // (a VM already past it) from stopping the loop.
        let mut floor = start;
        while let Some(next) = vms
            .iter()
            .filter_map(|vm| vm.vm.next_due())
            .filter(|due| *due > floor && *due <= target)
            .min()
        {
            step_to(next);
            floor = next;
        }
        step_to(target);
    }
}
