"""The gRPC server of the grpc_auth_random example, on 127.0.0.1:<port>.

It serves two methods with raw-bytes handlers (no generated stubs):

* demo.auth.v1.Auth/Check, asked by the plugin: the request holds the gRPC
  method the client calls, as protobuf field 1. Methods of the Health
  service are allowed (an empty reply); anything else fails with
  PERMISSION_DENIED.
* grpc.health.v1.Health/Check, the upstream service the clients call
  through Envoy: always SERVING (`08 01`).

Usage: python grpc_server.py <port>
"""

import sys
from concurrent import futures

import grpc

ALLOWED_PREFIX = "/grpc.health.v1.Health/"


def field_one(message: bytes) -> str:
    """Field 1 (a string) of a protobuf message, or ""."""
    if len(message) < 2 or message[0] != 0x0A:
        return ""
    length, shift, i = 0, 0, 1
    while i < len(message):
        byte = message[i]
        length |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            break
        shift += 7
    return message[i : i + length].decode("utf-8", "replace")


def auth_check(request: bytes, context: grpc.ServicerContext) -> bytes:
    method = field_one(request)
    if method.startswith(ALLOWED_PREFIX):
        print(f"auth: allow {method}", flush=True)
        return b""
    print(f"auth: deny {method}", flush=True)
    context.abort(grpc.StatusCode.PERMISSION_DENIED, f"method {method} is not allowed")
    return b""


def health_check(request: bytes, context: grpc.ServicerContext) -> bytes:
    return b"\x08\x01"  # status: SERVING


def main() -> None:
    port = int(sys.argv[1])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "demo.auth.v1.Auth",
                {"Check": grpc.unary_unary_rpc_method_handler(auth_check)},
            ),
            grpc.method_handlers_generic_handler(
                "grpc.health.v1.Health",
                {"Check": grpc.unary_unary_rpc_method_handler(health_check)},
            ),
        )
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print(f"grpc_server listening on 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
