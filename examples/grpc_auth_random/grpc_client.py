"""A gRPC client for the grpc_auth_random example: calls <method> (a full
path such as /grpc.health.v1.Health/Check) through Envoy on 127.0.0.1:<port>
with an empty message, and prints the outcome:

    ok <reply bytes in hex>
    error <status name> <details>

Usage: python grpc_client.py <port> <method>
"""

import sys

import grpc


def main() -> None:
    port, method = int(sys.argv[1]), sys.argv[2]
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        call = channel.unary_unary(method)  # raw bytes in and out
        try:
            reply, rpc = call.with_call(b"", timeout=5)
            metadata = dict(rpc.initial_metadata())
            print(f"ok {reply.hex()} powered-by={metadata.get('powered-by')}")
        except grpc.RpcError as error:
            print(f"error {error.code().name} {error.details()}")


if __name__ == "__main__":
    main()
