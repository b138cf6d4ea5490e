"""A page like the template change form, served with the console's CSP, for bench/editor_load.py.

Serves `/` (a form with the widget's markup and settings), `/static/…` from static/ and
`/node_modules/…` from frontend/node_modules (the unbundled comparison), answering the
upload and library URLs like the media endpoints do.
"""

import gzip
import io
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; frame-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
MJML = (
    '<mjml><mj-head><mj-attributes><mj-all font-family="Arial, sans-serif" /></mj-attributes>'
    '</mj-head><mj-body background-color="#f3f4f6"><mj-section><mj-column>'
    '<mj-text font-size="28px" font-weight="bold">Big news, {{ contact.first_name }}</mj-text>'
    "<mj-text>Say in one paragraph what is new and why your reader will care.</mj-text>"
    '<mj-button href="https://example.com/">Find out more</mj-button>'
    "</mj-column></mj-section></mj-body></mjml>"
)


def settings() -> dict:
    return {
        "config": {
            "upload_url": "/upload/",
            "library_url": "/library/",
            "can_upload": True,
            "merge_tags": [
                {"label": "First name", "tag": "{{ contact.first_name }}"},
                {"label": "Workspace name", "tag": "{{ workspace.name }}"},
            ],
            "brand": {
                "logo_url": "",
                "primary_colour": "#1a73e8",
                "text_colour": "#1f2937",
                "background_colour": "#f3f4f6",
                "font_family": "Arial, Helvetica, sans-serif",
                "footer_address": "1 Main Street",
            },
            "required_footer_tags": ["{{ unsubscribe_url }}", "{{ preferences_url }}"],
            "template": {"id": 1, "editor": "visual", "preview_url": ""},
        },
        "locale": "en",
        "readonly": False,
        "mode": "visual",
        "fields": _widget().fields,
        "strings": _strings(),
    }


def _widget():
    _strings()
    from engagex.email_templates.widgets import VisualEditorWidget

    return VisualEditorWidget


def _strings() -> dict:
    import django
    from django.conf import settings as django_settings

    if not django_settings.configured:
        django_settings.configure(USE_I18N=False)
        django.setup()
    from engagex.email_templates.widgets import editor_strings

    return editor_strings()


def page(variant: str) -> str:
    if variant == "unbundled":
        head = (
            '<link rel="stylesheet" href="/node_modules/grapesjs/dist/css/grapes.min.css">'
            '<script src="/node_modules/grapesjs/dist/grapes.min.js"></script>'
            '<script src="/node_modules/grapesjs-mjml/dist/index.js"></script>'
            '<script src="/bench/editor_stock.js"></script>'
        )
    else:
        head = (
            '<link rel="stylesheet" href="/static/engagex/editor/editor.css">'
            '<script type="module" src="/static/engagex/editor/editor.js"></script>'
        )
    data = json.dumps(settings()).replace("<", "\\u003c")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>editor</title>{head}</head>
<body><form method="post" id="emailtemplate_form">
<input type="hidden" name="csrfmiddlewaretoken" value="bench">
<div class="field-line field-editor"><select name="editor"><option value="html">HTML</option>
<option value="mjml">MJML</option><option value="visual" selected>Visual</option></select></div>
<div class="field-line field-mjml_source"><textarea name="mjml_source">{MJML}</textarea></div>
<div class="field-line field-html_body"><textarea name="html_body"></textarea></div>
<div class="field-line field-design">
<div class="engagex-editor" data-engagex-editor data-config="cfg" id="stock-editor">
<textarea data-design hidden name="design"></textarea>
<script id="cfg" type="application/json">{data}</script>
<div data-editor-notice hidden></div><div data-editor-canvas></div></div></div>
<button type="submit" name="_continue">Save</button></form></body></html>"""


_GZIPPED: dict[Path, bytes] = {}


class Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send_head(self):
        # Static files gzipped, as WhiteNoise serves the collected (pre-compressed) ones.
        path = Path(self.translate_path(self.path))
        if path.is_file() and "gzip" in self.headers.get("Accept-Encoding", ""):
            if path not in _GZIPPED:
                _GZIPPED[path] = gzip.compress(path.read_bytes(), 6)
            body = _GZIPPED[path]
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return io.BytesIO(body)
        return super().send_head()

    def end_headers(self):
        self.send_header("Content-Security-Policy", POLICY)
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def _send(self, body: bytes, kind: str, status: int = 200):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path in ("/", "/?bundled"):
            return self._send(page("bundled").encode(), "text/html; charset=utf-8")
        if self.path == "/?unbundled":
            return self._send(page("unbundled").encode(), "text/html; charset=utf-8")
        if self.path == "/library/":
            return self._send(b'{"data": []}', "application/json")
        if self.path.startswith("/node_modules/"):
            self.path = "/frontend" + self.path
        return super().do_GET()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        body = {"data": [{"src": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "name": "x.gif"}]}
        return self._send(json.dumps(body).encode(), "application/json")


def serve(port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(Handler, directory=str(ROOT)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(ROOT))
    httpd = serve(int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
    print(f"http://127.0.0.1:{httpd.server_address[1]}/")
    threading.Event().wait()
