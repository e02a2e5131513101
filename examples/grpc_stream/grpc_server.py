"""The echo service of the grpc_stream example, on 127.0.0.1:<port>.

demo.echo.v1.Echo/Chat is a bidirectional stream with raw-bytes handlers
(no generated stubs): it sends `x-echo-server: python` as initial metadata,
answers every message with its upper-cased copy, and when the client
half-closes ends with `x-echoed: <count>` as trailing metadata and status OK.
A message `fail` ends the stream with FAILED_PRECONDITION instead.

Usage: python grpc_server.py <port>
"""

import sys
from concurrent import futures

import grpc


def chat(requests, context: grpc.ServicerContext):
    context.send_initial_metadata((("x-echo-server", "python"),))
    echoed = 0
    for message in requests:
        text = message.decode("utf-8", "replace")
        print(f"chat: got {text}", flush=True)
        if text == "fail":
            context.set_trailing_metadata((("x-echoed", str(echoed)),))
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "told to fail")
        echoed += 1
        yield text.upper().encode()
    context.set_trailing_metadata((("x-echoed", str(echoed)),))
    print(f"chat: done after {echoed}", flush=True)


def main() -> None:
    port = int(sys.argv[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "demo.echo.v1.Echo",
                {"Chat": grpc.stream_stream_rpc_method_handler(chat)},
            ),
        )
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"grpc_server listening on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
