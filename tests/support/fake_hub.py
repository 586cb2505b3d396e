"""A Hugging Face Hub on 127.0.0.1 that serves one repository's files from a local folder, as huggingface_hub
downloads them (`HF_ENDPOINT=http://127.0.0.1:PORT`): HEAD and GET of `/{repo}/resolve/{revision}/{file}`
with the commit and ETag headers it reads, 404 (EntryNotFound) for any file the folder lacks and for the API
routes. Enough for `from_pretrained` to download a tiny model for real; nothing leaves the machine."""
from __future__ import annotations

import hashlib
import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _handler(repo: str, folder: Path, asked: list[str]) -> type[http.server.BaseHTTPRequestHandler]:
    prefix = f"/{repo}/resolve/"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, *, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            revision, _, name = path[len(prefix):].partition("/") if path.startswith(prefix) else ("", "", "")
            asked.append(revision)
            found = folder / name if name and ".." not in name else None
            if found is None or not found.is_file():
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = found.read_bytes()
            self.send_response(200)
            # a commit asked for by its sha is that commit (as the Hub answers); a branch is COMMIT
            self.send_header("X-Repo-Commit", revision if re.fullmatch(r"[0-9a-f]{40}", revision) else COMMIT)
            self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@contextmanager
def fake_hub(repo: str, folder: Path, asked: list[str] | None = None) -> Iterator[str]:
    """Serve `folder` as the Hub repository `repo`; yields the endpoint (HF_ENDPOINT). The revision of
    each file request (a branch or a commit, as the URL names it) is appended to `asked`."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(repo, folder, [] if asked is None else asked))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
