"""A TCP echo server for the network example: on each connection it writes
`PREFIX`, then echoes what one read returns, then closes (the harness's
client reads until the close). Usage: echo_server.py PORT [PREFIX]"""

import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(65536)
        self.request.sendall(PREFIX + data)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    port = int(sys.argv[1])
    PREFIX = (sys.argv[2] if len(sys.argv) > 2 else "").encode()
    with Server(("127.0.0.1", port), Echo) as server:
        server.serve_forever()
