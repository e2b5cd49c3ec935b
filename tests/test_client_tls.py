"""The client's own HTTP/1.1 connection over real TLS: certificates verified, kept alive, answers decoded.

PocketSmith is reached over https only; the sandbox speaks plain http on loopback. So these tests stand up a
small HTTPS server on 127.0.0.1 with certificates from a throwaway CA (trustme), and point the client's
TLS context at that CA instead of certifi's bundle.
"""

from __future__ import annotations

import gzip
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import importer.pocketsmith.client as client_module
from importer.errors import ApiError
from importer.pocketsmith.client import PocketSmith

trustme = pytest.importorskip("trustme", reason="trustme makes the test certificates (pip install -e '.[test]')")

KEY = "0123456789abcdef0123456789abcdef"
ME = {"id": 42, "login": "tls", "name": "Over TLS", "email": "tls@example.com"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"       # keeps the connection open between requests

    def do_GET(self):
        self.server.requests.append((self.path, self.headers.get("X-Developer-Key"),
                                     self.client_address[1]))
        body = json.dumps(ME).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.server.gzip_answers:
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        if self.server.chunked_answers:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 7):
                piece = body[start:start + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def ca():
    return trustme.CA()


def _serve(server_ca, *, names=("127.0.0.1", "localhost"), gzip_answers=False, chunked_answers=False):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    server.gzip_answers, server.chunked_answers = gzip_answers, chunked_answers
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ca.issue_cert(*names).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def trusting(monkeypatch):
    """Make the client verify https against the given CA, as it verifies against certifi's bundle."""
    def trust(ca):
        def tls_for(base_url):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ca.configure_trust(context)
            return context
        monkeypatch.setattr(client_module, "_tls_for", tls_for)
    return trust


@pytest.mark.parametrize("gzip_answers,chunked_answers", [(False, False), (True, False), (True, True)],
                         ids=["content-length", "gzip", "gzip-chunked"])
def test_https_answers_are_read_and_the_connection_kept(ca, trusting, gzip_answers, chunked_answers):
    server = _serve(ca, gzip_answers=gzip_answers, chunked_answers=chunked_answers)
    trusting(ca)
    try:
        client = PocketSmith(f"https://127.0.0.1:{server.server_port}/v2", KEY)
        try:
            assert client.me() == ME
            assert client.me() == ME
        finally:
            client.close()
    finally:
        server.shutdown()
        server.server_close()
    paths = [path for path, _, _ in server.requests]
    assert paths == ["/v2/me", "/v2/me"]
    assert {key for _, key, _ in server.requests} == {KEY}
    assert len({port for _, _, port in server.requests}) == 1, "both requests on one kept-alive TLS connection"


def _refusal(server) -> ApiError:
    """The error a request to `server` ends in, and that the server never saw the request."""
    try:
        client = PocketSmith(f"https://127.0.0.1:{server.server_port}/v2", KEY, max_tries=1)
        try:
            with pytest.raises(ApiError) as caught:
                client.me()
        finally:
            client.close()
    finally:
        server.shutdown()
        server.server_close()
    assert server.requests == []
    return caught.value


def test_a_certificate_from_an_untrusted_ca_is_refused_without_the_key_in_the_message(ca, trusting):
    server = _serve(trustme.CA())          # signed by a CA the client does not trust
    trusting(ca)
    error = _refusal(server)
    assert "certificate" in str(error).lower()
    assert KEY not in str(error)


def test_a_certificate_for_another_host_name_is_refused(ca, trusting):
    server = _serve(ca, names=("api.pocketsmith.com",))        # the right CA, another host's name
    trusting(ca)
    _refusal(server)
