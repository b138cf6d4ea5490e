"""A threaded HTTP server on loopback: the base of the fake SendGrid and fake Stripe APIs."""

import threading
from http.server import ThreadingHTTPServer


class LoopbackServer:
    """Serve `self._handler()` on host:port (0 picks a free port) in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.server.server_port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        raise NotImplementedError
