//! The expansions (of `#[proxywasm::main]` and `#[proxywasm::callbacks]`)
//! use absolute paths only and no `unsafe` block (natively;
//! the wasm half is built by the `proxywasm-hygiene` crate in the gate).
#![no_implicit_prelude]
#![forbid(unsafe_code)]

mod http {
    pub struct Filter;
    #[::proxywasm::callbacks]
    impl ::proxywasm::HttpContext for Filter {
        fn on_log(&mut self) -> ::proxywasm::Result<()> {
            ::core::result::Result::Ok(())
        }
    }

    #[::proxywasm::main(http)]
    pub fn filter(_id: ::proxywasm::ContextId) -> Filter {
        Filter
    }
}

mod tcp {
    pub struct Connection;
    #[::proxywasm::callbacks]
    impl ::proxywasm::TcpContext for Connection {}

    #[::proxywasm::main(tcp)]
    pub fn connection(_id: ::proxywasm::ContextId) -> Connection {
        Connection
    }
}

mod plugin {
    pub struct Plugin;
    #[::proxywasm::callbacks(crate = "::proxywasm")]
    impl ::proxywasm::PluginContext for Plugin {
        type Http = ::proxywasm::NoContext;
        type Tcp = ::proxywasm::NoContext;
    }

    #[::proxywasm::main(plugin)]
    pub fn plugin(_id: ::proxywasm::ContextId) -> Plugin {
        Plugin
    }
}

mod vm {
    pub struct Vm;
    impl ::proxywasm::VmContext for Vm {
        type Plugin = super::plugin::Plugin;
        fn new_plugin_context(&mut self, _id: ::proxywasm::ContextId) -> super::plugin::Plugin {
            super::plugin::Plugin
        }
    }

    #[::proxywasm::main(crate = "::proxywasm")]
    pub fn vm() -> Vm {
        Vm
    }
}

fn main() {
    let _ = http::filter(::proxywasm::ContextId(1));
    let _ = tcp::connection(::proxywasm::ContextId(1));
    let _ = plugin::plugin(::proxywasm::ContextId(1));
    let _ = vm::vm();
}
