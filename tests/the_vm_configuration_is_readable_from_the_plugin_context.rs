//! Envoy lets a plugin read the VM configuration at any time (buffer 6), not
//! only in `on_vm_start`: the plugin context can read it in `on_configure`.

use proxywasm::mock::MockHost;

mod support;

#[test]
fn the_vm_configuration_is_readable_from_on_configure() {
    let host = MockHost::builder()
        .vm_configuration("shared by all plugins")
        .plugin(|_| {
            support::OnConfigure(|_| {
                let vm = proxywasm::plugin::vm_configuration()?;
                proxywasm::log::info!("vm configuration: {}", vm.to_string_lossy());
                Ok(())
            })
        });
    assert!(host.start());
    assert!(
        host.logs()
            .contain("vm configuration: shared by all plugins"),
        "{:#?}",
        host.logs().records()
    );
}
