//! Every `env` import of ABI v0.2.1, with the exact wasm types of
//! [`crate::abi::ENV_IMPORTS`]. Each reads its arguments from guest memory,
//! calls the emulator's hostcall method (the same one the native mock host
//! calls), and writes the results back the way Envoy does.

use crate::ctx::{
    Ctx, INVALID_MEMORY_ACCESS, enter, hand_over, read, remember_log, write_u32, write_u64,
};
use proxywasm::mock::core::Vm;
use wasmtime::{Caller, Linker};

const ENV: &str = "env";

type Res = wasmtime::Result<i32>;

/// Returns `INVALID_MEMORY_ACCESS` to the plugin when a guest range is bad.
macro_rules! mem {
    ($e:expr) => {
        match $e {
            Some(value) => value,
            None => return Ok(INVALID_MEMORY_ACCESS),
        }
    };
}

fn code(result: Result<(), u32>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(status) => status as i32,
    }
}

/// Finishes a hostcall: lets the emulator run re-entry hooks, returns `status`.
fn done(vm: &Vm, name: &str, status: i32) -> Res {
    vm.after_hostcall(name);
    Ok(status)
}

fn out_u32(caller: &mut Caller<'_, Ctx>, ptr: i32, result: Result<u32, u32>) -> i32 {
    match result {
        Ok(value) => write_u32(caller, ptr, value).map_or(INVALID_MEMORY_ACCESS, |()| 0),
        Err(status) => status as i32,
    }
}

fn out_u64(caller: &mut Caller<'_, Ctx>, ptr: i32, result: Result<u64, u32>) -> i32 {
    match result {
        Ok(value) => write_u64(caller, ptr, value).map_or(INVALID_MEMORY_ACCESS, |()| 0),
        Err(status) => status as i32,
    }
}

fn out_bytes(
    caller: &mut Caller<'_, Ctx>,
    ptr_out: i32,
    size_out: i32,
    result: Result<Vec<u8>, u32>,
) -> Res {
    match result {
        Ok(bytes) => hand_over(caller, &bytes, ptr_out, size_out),
        Err(status) => Ok(status as i32),
    }
}

/// Defines the whole `env` set on `linker`.
#[allow(clippy::too_many_lines)]
pub(crate) fn define(linker: &mut Linker<Ctx>) -> wasmtime::Result<()> {
    // §2.1 logging, time, timers
    linker.func_wrap(
        ENV,
        "proxy_log",
        |mut c: Caller<'_, Ctx>, level: i32, ptr: i32, len: i32| -> Res {
            let vm = enter(&mut c, "proxy_log", false)?;
            let message = mem!(read(&c, ptr, len));
            let source = ["trace", "debug", "info", "warn", "error", "critical"]
                .get(level as usize)
                .copied()
                .unwrap_or("log");
            remember_log(&mut c, source, &message);
            let status = code(vm.state().log(level as u32, &message));
            done(&vm, "proxy_log", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_log_level",
        |mut c: Caller<'_, Ctx>, ret: i32| -> Res {
            let vm = enter(&mut c, "proxy_get_log_level", false)?;
            let result = vm.state().get_log_level();
            let status = out_u32(&mut c, ret, result);
            done(&vm, "proxy_get_log_level", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_current_time_nanoseconds",
        |mut c: Caller<'_, Ctx>, ret: i32| -> Res {
            let vm = enter(&mut c, "proxy_get_current_time_nanoseconds", false)?;
            let result = vm.state().get_current_time_nanoseconds();
            let status = out_u64(&mut c, ret, result);
            done(&vm, "proxy_get_current_time_nanoseconds", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_tick_period_milliseconds",
        |mut c: Caller<'_, Ctx>, period: i32| -> Res {
            let vm = enter(&mut c, "proxy_set_tick_period_milliseconds", false)?;
            let status = code(vm.state().set_tick_period_milliseconds(period as u32));
            done(&vm, "proxy_set_tick_period_milliseconds", status)
        },
    )?;

    // §2.3 buffers
    linker.func_wrap(
        ENV,
        "proxy_get_buffer_bytes",
        |mut c: Caller<'_, Ctx>,
         kind: i32,
         start: i32,
         max: i32,
         ptr_out: i32,
         size_out: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_get_buffer_bytes", false)?;
            let result = vm
                .state()
                .get_buffer_bytes(kind as u32, start as u32, max as u32);
            let status = out_bytes(&mut c, ptr_out, size_out, result)?;
            done(&vm, "proxy_get_buffer_bytes", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_buffer_bytes",
        |mut c: Caller<'_, Ctx>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| -> Res {
            let vm = enter(&mut c, "proxy_set_buffer_bytes", false)?;
            let data = mem!(read(&c, ptr, len));
            let status =
                code(
                    vm.state()
                        .set_buffer_bytes(kind as u32, start as u32, size as u32, &data),
                );
            done(&vm, "proxy_set_buffer_bytes", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_buffer_status",
        |mut c: Caller<'_, Ctx>, kind: i32, len_out: i32, flags_out: i32| -> Res {
            let vm = enter(&mut c, "proxy_get_buffer_status", false)?;
            let result = vm.state().get_buffer_status(kind as u32);
            let status = match result {
                Ok((len, flags)) => write_u32(&mut c, len_out, len)
                    .and_then(|()| write_u32(&mut c, flags_out, flags))
                    .map_or(INVALID_MEMORY_ACCESS, |()| 0),
                Err(status) => status as i32,
            };
            done(&vm, "proxy_get_buffer_status", status)
        },
    )?;

    // §2.4 header maps
    linker.func_wrap(
        ENV,
        "proxy_get_header_map_pairs",
        |mut c: Caller<'_, Ctx>, kind: i32, ptr_out: i32, size_out: i32| -> Res {
            let vm = enter(&mut c, "proxy_get_header_map_pairs", false)?;
            let result = vm.state().get_header_map_pairs(kind as u32);
            let status = out_bytes(&mut c, ptr_out, size_out, result)?;
            done(&vm, "proxy_get_header_map_pairs", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_header_map_pairs",
        |mut c: Caller<'_, Ctx>, kind: i32, ptr: i32, len: i32| -> Res {
            let vm = enter(&mut c, "proxy_set_header_map_pairs", false)?;
            let pairs = mem!(read(&c, ptr, len));
            let status = code(vm.state().set_header_map_pairs(kind as u32, &pairs));
            done(&vm, "proxy_set_header_map_pairs", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_header_map_value",
        |mut c: Caller<'_, Ctx>,
         kind: i32,
         key: i32,
         key_len: i32,
         ptr_out: i32,
         size_out: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_get_header_map_value", false)?;
            let key = mem!(read(&c, key, key_len));
            let result = vm.state().get_header_map_value(kind as u32, &key);
            let status = out_bytes(&mut c, ptr_out, size_out, result)?;
            done(&vm, "proxy_get_header_map_value", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_add_header_map_value",
        |mut c: Caller<'_, Ctx>,
         kind: i32,
         key: i32,
         key_len: i32,
         value: i32,
         value_len: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_add_header_map_value", false)?;
            let key = mem!(read(&c, key, key_len));
            let value = mem!(read(&c, value, value_len));
            let status = code(vm.state().add_header_map_value(kind as u32, &key, &value));
            done(&vm, "proxy_add_header_map_value", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_replace_header_map_value",
        |mut c: Caller<'_, Ctx>,
         kind: i32,
         key: i32,
         key_len: i32,
         value: i32,
         value_len: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_replace_header_map_value", false)?;
            let key = mem!(read(&c, key, key_len));
            let value = mem!(read(&c, value, value_len));
            let status = code(
                vm.state()
                    .replace_header_map_value(kind as u32, &key, &value),
            );
            done(&vm, "proxy_replace_header_map_value", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_remove_header_map_value",
        |mut c: Caller<'_, Ctx>, kind: i32, key: i32, key_len: i32| -> Res {
            let vm = enter(&mut c, "proxy_remove_header_map_value", false)?;
            let key = mem!(read(&c, key, key_len));
            let status = code(vm.state().remove_header_map_value(kind as u32, &key));
            done(&vm, "proxy_remove_header_map_value", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_header_map_size",
        |mut c: Caller<'_, Ctx>, kind: i32, ret: i32| -> Res {
            let vm = enter(&mut c, "proxy_get_header_map_size", false)?;
            let result = vm.state().get_header_map_size(kind as u32);
            let status = out_u32(&mut c, ret, result);
            done(&vm, "proxy_get_header_map_size", status)
        },
    )?;

    // §2.5 stream control
    linker.func_wrap(
        ENV,
        "proxy_continue_stream",
        |mut c: Caller<'_, Ctx>, kind: i32| -> Res {
            let vm = enter(&mut c, "proxy_continue_stream", false)?;
            let status = code(vm.state().continue_stream(kind as u32));
            done(&vm, "proxy_continue_stream", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_close_stream",
        |mut c: Caller<'_, Ctx>, kind: i32| -> Res {
            let vm = enter(&mut c, "proxy_close_stream", false)?;
            let status = code(vm.state().close_stream(kind as u32));
            done(&vm, "proxy_close_stream", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_send_local_response",
        |mut c: Caller<'_, Ctx>,
         status_code: i32,
         details: i32,
         details_len: i32,
         body: i32,
         body_len: i32,
         headers: i32,
         headers_len: i32,
         grpc_status: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_send_local_response", false)?;
            let details = mem!(read(&c, details, details_len));
            let body = mem!(read(&c, body, body_len));
            let headers = mem!(read(&c, headers, headers_len));
            let status = code(vm.state().send_local_response(
                status_code as u32,
                &details,
                &body,
                &headers,
                grpc_status,
            ));
            done(&vm, "proxy_send_local_response", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_status",
        |mut c: Caller<'_, Ctx>, code_out: i32, ptr_out: i32, size_out: i32| -> Res {
            let vm = enter(&mut c, "proxy_get_status", false)?;
            let result = vm.state().get_status();
            let status = match result {
                Ok((status_code, message)) => match write_u32(&mut c, code_out, status_code) {
                    Some(()) => hand_over(&mut c, &message, ptr_out, size_out)?,
                    None => INVALID_MEMORY_ACCESS,
                },
                Err(status) => status as i32,
            };
            done(&vm, "proxy_get_status", status)
        },
    )?;

    // §2.6 HTTP callouts
    linker.func_wrap(
        ENV,
        "proxy_http_call",
        |mut c: Caller<'_, Ctx>,
         upstream: i32,
         upstream_len: i32,
         headers: i32,
         headers_len: i32,
         body: i32,
         body_len: i32,
         trailers: i32,
         trailers_len: i32,
         timeout_ms: i32,
         token_out: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_http_call", false)?;
            let upstream = mem!(read(&c, upstream, upstream_len));
            let headers = mem!(read(&c, headers, headers_len));
            let body = mem!(read(&c, body, body_len));
            let trailers = mem!(read(&c, trailers, trailers_len));
            let result =
                vm.state()
                    .http_call(&upstream, &headers, &body, &trailers, timeout_ms as u32);
            let status = out_u32(&mut c, token_out, result);
            done(&vm, "proxy_http_call", status)
        },
    )?;

    // §2.7 gRPC
    linker.func_wrap(
        ENV,
        "proxy_grpc_call",
        |mut c: Caller<'_, Ctx>,
         service: i32,
         service_len: i32,
         service_name: i32,
         service_name_len: i32,
         method: i32,
         method_len: i32,
         metadata: i32,
         metadata_len: i32,
         message: i32,
         message_len: i32,
         timeout_ms: i32,
         token_out: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_grpc_call", false)?;
            let service = mem!(read(&c, service, service_len));
            let service_name = mem!(read(&c, service_name, service_name_len));
            let method = mem!(read(&c, method, method_len));
            let metadata = mem!(read(&c, metadata, metadata_len));
            let message = mem!(read(&c, message, message_len));
            let result = vm.state().grpc_call(
                &service,
                &service_name,
                &method,
                &metadata,
                &message,
                timeout_ms as u32,
            );
            let status = out_u32(&mut c, token_out, result);
            done(&vm, "proxy_grpc_call", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_stream",
        |mut c: Caller<'_, Ctx>,
         service: i32,
         service_len: i32,
         service_name: i32,
         service_name_len: i32,
         method: i32,
         method_len: i32,
         metadata: i32,
         metadata_len: i32,
         token_out: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_grpc_stream", false)?;
            let service = mem!(read(&c, service, service_len));
            let service_name = mem!(read(&c, service_name, service_name_len));
            let method = mem!(read(&c, method, method_len));
            let metadata = mem!(read(&c, metadata, metadata_len));
            let result = vm
                .state()
                .grpc_stream(&service, &service_name, &method, &metadata);
            let status = out_u32(&mut c, token_out, result);
            done(&vm, "proxy_grpc_stream", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_send",
        |mut c: Caller<'_, Ctx>,
         token: i32,
         message: i32,
         message_len: i32,
         end_stream: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_grpc_send", false)?;
            let message = mem!(read(&c, message, message_len));
            let status = code(
                vm.state()
                    .grpc_send(token as u32, &message, end_stream != 0),
            );
            done(&vm, "proxy_grpc_send", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_cancel",
        |mut c: Caller<'_, Ctx>, token: i32| -> Res {
            let vm = enter(&mut c, "proxy_grpc_cancel", false)?;
            let status = code(vm.state().grpc_cancel(token as u32));
            done(&vm, "proxy_grpc_cancel", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_grpc_close",
        |mut c: Caller<'_, Ctx>, token: i32| -> Res {
            let vm = enter(&mut c, "proxy_grpc_close", false)?;
            let status = code(vm.state().grpc_close(token as u32));
            done(&vm, "proxy_grpc_close", status)
        },
    )?;

    // §2.8 shared data
    linker.func_wrap(
        ENV,
        "proxy_get_shared_data",
        |mut c: Caller<'_, Ctx>,
         key: i32,
         key_len: i32,
         ptr_out: i32,
         size_out: i32,
         cas_out: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_get_shared_data", false)?;
            let key = mem!(read(&c, key, key_len));
            let result = vm.state().get_shared_data(&key);
            let status = match result {
                Ok((value, cas)) => match hand_over(&mut c, &value, ptr_out, size_out)? {
                    0 => write_u32(&mut c, cas_out, cas).map_or(INVALID_MEMORY_ACCESS, |()| 0),
                    failed => failed,
                },
                Err(status) => status as i32,
            };
            done(&vm, "proxy_get_shared_data", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_shared_data",
        |mut c: Caller<'_, Ctx>,
         key: i32,
         key_len: i32,
         value: i32,
         value_len: i32,
         cas: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_set_shared_data", false)?;
            let key = mem!(read(&c, key, key_len));
            let value = mem!(read(&c, value, value_len));
            let status = code(vm.state().set_shared_data(&key, &value, cas as u32));
            done(&vm, "proxy_set_shared_data", status)
        },
    )?;

    // §2.9 shared queues
    linker.func_wrap(
        ENV,
        "proxy_register_shared_queue",
        |mut c: Caller<'_, Ctx>, name: i32, name_len: i32, token_out: i32| -> Res {
            let vm = enter(&mut c, "proxy_register_shared_queue", false)?;
            let name = mem!(read(&c, name, name_len));
            let result = vm.state().register_shared_queue(&name);
            let status = out_u32(&mut c, token_out, result);
            done(&vm, "proxy_register_shared_queue", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_resolve_shared_queue",
        |mut c: Caller<'_, Ctx>,
         vm_id: i32,
         vm_id_len: i32,
         name: i32,
         name_len: i32,
         token_out: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_resolve_shared_queue", false)?;
            let vm_id = mem!(read(&c, vm_id, vm_id_len));
            let name = mem!(read(&c, name, name_len));
            let result = vm.state().resolve_shared_queue(&vm_id, &name);
            let status = out_u32(&mut c, token_out, result);
            done(&vm, "proxy_resolve_shared_queue", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_dequeue_shared_queue",
        |mut c: Caller<'_, Ctx>, token: i32, ptr_out: i32, size_out: i32| -> Res {
            let vm = enter(&mut c, "proxy_dequeue_shared_queue", false)?;
            let result = vm.state().dequeue_shared_queue(token as u32);
            let status = out_bytes(&mut c, ptr_out, size_out, result)?;
            done(&vm, "proxy_dequeue_shared_queue", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_enqueue_shared_queue",
        |mut c: Caller<'_, Ctx>, token: i32, data: i32, data_len: i32| -> Res {
            let vm = enter(&mut c, "proxy_enqueue_shared_queue", false)?;
            let data = mem!(read(&c, data, data_len));
            let status = code(vm.state().enqueue_shared_queue(token as u32, &data));
            done(&vm, "proxy_enqueue_shared_queue", status)
        },
    )?;

    // §2.10 metrics
    linker.func_wrap(
        ENV,
        "proxy_define_metric",
        |mut c: Caller<'_, Ctx>, kind: i32, name: i32, name_len: i32, id_out: i32| -> Res {
            let vm = enter(&mut c, "proxy_define_metric", false)?;
            let name = mem!(read(&c, name, name_len));
            let result = vm.state().define_metric(kind as u32, &name);
            let status = out_u32(&mut c, id_out, result);
            done(&vm, "proxy_define_metric", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_increment_metric",
        |mut c: Caller<'_, Ctx>, id: i32, offset: i64| -> Res {
            let vm = enter(&mut c, "proxy_increment_metric", false)?;
            let status = code(vm.state().increment_metric(id as u32, offset));
            done(&vm, "proxy_increment_metric", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_record_metric",
        |mut c: Caller<'_, Ctx>, id: i32, value: i64| -> Res {
            let vm = enter(&mut c, "proxy_record_metric", false)?;
            let status = code(vm.state().record_metric(id as u32, value as u64));
            done(&vm, "proxy_record_metric", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_get_metric",
        |mut c: Caller<'_, Ctx>, id: i32, value_out: i32| -> Res {
            let vm = enter(&mut c, "proxy_get_metric", false)?;
            let result = vm.state().get_metric(id as u32);
            let status = out_u64(&mut c, value_out, result);
            done(&vm, "proxy_get_metric", status)
        },
    )?;

    // §2.11 properties
    linker.func_wrap(
        ENV,
        "proxy_get_property",
        |mut c: Caller<'_, Ctx>, path: i32, path_len: i32, ptr_out: i32, size_out: i32| -> Res {
            let vm = enter(&mut c, "proxy_get_property", false)?;
            let path = mem!(read(&c, path, path_len));
            let result = vm.state().get_property(&path);
            let status = out_bytes(&mut c, ptr_out, size_out, result)?;
            done(&vm, "proxy_get_property", status)
        },
    )?;
    linker.func_wrap(
        ENV,
        "proxy_set_property",
        |mut c: Caller<'_, Ctx>, path: i32, path_len: i32, value: i32, value_len: i32| -> Res {
            let vm = enter(&mut c, "proxy_set_property", false)?;
            let path = mem!(read(&c, path, path_len));
            let value = mem!(read(&c, value, value_len));
            let status = code(vm.state().set_property(&path, &value));
            done(&vm, "proxy_set_property", status)
        },
    )?;

    // §2.12 context management
    linker.func_wrap(
        ENV,
        "proxy_set_effective_context",
        |mut c: Caller<'_, Ctx>, context_id: i32| -> Res {
            let vm = enter(&mut c, "proxy_set_effective_context", false)?;
            let status = code(vm.state().set_effective_context(context_id as u32));
            done(&vm, "proxy_set_effective_context", status)
        },
    )?;
    linker.func_wrap(ENV, "proxy_done", |mut c: Caller<'_, Ctx>| -> Res {
        let vm = enter(&mut c, "proxy_done", false)?;
        let status = code(vm.state().done());
        done(&vm, "proxy_done", status)
    })?;

    // §2.13 foreign functions
    linker.func_wrap(
        ENV,
        "proxy_call_foreign_function",
        |mut c: Caller<'_, Ctx>,
         name: i32,
         name_len: i32,
         args: i32,
         args_len: i32,
         ptr_out: i32,
         size_out: i32|
         -> Res {
            let vm = enter(&mut c, "proxy_call_foreign_function", false)?;
            let name = mem!(read(&c, name, name_len));
            let args = mem!(read(&c, args, args_len));
            let result = vm.state().call_foreign_function(&name, &args);
            let status = match result {
                // Both result pointers 0: the plugin discards the result.
                Ok(_) if ptr_out == 0 && size_out == 0 => 0,
                other => out_bytes(&mut c, ptr_out, size_out, other)?,
            };
            done(&vm, "proxy_call_foreign_function", status)
        },
    )?;

    // §2.15 Envoy-only
    linker.func_wrap(
        ENV,
        "envoy_resolve_dns",
        |mut c: Caller<'_, Ctx>, address: i32, address_len: i32, token_out: i32| -> Res {
            let vm = enter(&mut c, "envoy_resolve_dns", false)?;
            let address = mem!(read(&c, address, address_len));
            let result = vm.state().resolve_dns(&address);
            let status = out_u32(&mut c, token_out, result);
            done(&vm, "envoy_resolve_dns", status)
        },
    )?;

    // emscripten shims Envoy registers for every module
    linker.func_wrap(
        ENV,
        "pthread_equal",
        |mut c: Caller<'_, Ctx>, a: i32, b: i32| -> Res {
            enter(&mut c, "pthread_equal", false)?;
            Ok(i32::from(a == b))
        },
    )?;
    linker.func_wrap(
        ENV,
        "emscripten_notify_memory_growth",
        |mut c: Caller<'_, Ctx>, _index: i32| -> wasmtime::Result<()> {
            enter(&mut c, "emscripten_notify_memory_growth", false)?;
            Ok(())
        },
    )?;
    Ok(())
}
