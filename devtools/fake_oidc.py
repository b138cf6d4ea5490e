"""A fake OpenID Connect provider on loopback: discovery, token and userinfo endpoints."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import jwt

CLIENT_ID = "engagex-test"
CLIENT_SECRET = "test-secret"  # noqa: S105 - a fake provider's fake secret


class FakeOIDC:
    def __init__(self):
        self.claims = {}
        self.token_requests = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def reset(self, **claims):
        self.claims = {"sub": "user-1", "email_verified": True, **claims}
        self.token_requests = []

    def id_token(self) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300}
        return jwt.encode({**payload, **self.claims}, "x" * 32, algorithm="HS256")  # not checked

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    return self._json(
                        {
                            "issuer": fake.url,
                            "authorization_endpoint": f"{fake.url}/authorize",
                            "token_endpoint": f"{fake.url}/token",
                            "userinfo_endpoint": f"{fake.url}/userinfo",
                            "jwks_uri": f"{fake.url}/jwks",
                            "token_endpoint_auth_methods_supported": ["client_secret_post"],
                        }
                    )
                if self.path == "/userinfo":
                    return self._json(fake.claims)
                return self._json({"error": "not found"}, 404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                if self.path == "/token":
                    fake.token_requests.append(form)
                    return self._json(
                        {
                            "access_token": "access-1",
                            "token_type": "Bearer",
                            "expires_in": 300,
                            "id_token": fake.id_token(),
                        }
                    )
                return self._json({"error": "not found"}, 404)

        return Handler
