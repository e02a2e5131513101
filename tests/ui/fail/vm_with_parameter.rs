struct Plugin;
impl proxywasm::PluginContext for Plugin {
    type Http = proxywasm::NoContext;
    type Tcp = proxywasm::NoContext;
}
struct Vm;
impl proxywasm::VmContext for Vm {
    type Plugin = Plugin;
    fn new_plugin_context(&mut self, _id: proxywasm::ContextId) -> Plugin {
        Plugin
    }
}

#[proxywasm::main]
fn vm(_id: proxywasm::ContextId) -> Vm {
    Vm
}

fn main() {}
