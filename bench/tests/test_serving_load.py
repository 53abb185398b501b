"""The wrk script and its output parsing (no server, no timing assertions)."""

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from serving.load import (
    RESULT_MARK,
    LoadError,
    lua_long_string,
    parse_output,
    run_wrk,
    write_script,
)


def test_long_string_is_never_closed_by_its_content():
    text = 'a]]b]=]c"'
    literal = lua_long_string(text)
    assert literal == '[==[a]]b]=]c"]==]'


def test_parse_output_reads_the_done_line():
    out = (
        "Running 1s test @ http://127.0.0.1:1/\n"
        f'{RESULT_MARK}{{"requests":10,"duration_us":1000000,"bytes":100,"errors_connect":1,'
        '"errors_read":0,"errors_write":0,"errors_status":2,"errors_timeout":3,'
        '"p50_us":1500.0,"p90_us":2000.0,"p99_us":3000.0,"p999_us":3500.0,'
        '"mean_us":1600.5,"max_us":4000.0}\n'
    )
    result = parse_output(out)
    assert result.requests == 10
    assert result.errors == 6
    assert result.rps == pytest.approx(10.0)
    assert result.to_dict()["p99_us"] == 3000.0


def test_parse_output_without_the_line_fails():
    with pytest.raises(LoadError):
        parse_output("Requests/sec: 123\n")


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, bytes, str | None]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.command, body, self.headers["Authorization"]))
        answer = b'{"predictions": [0]}'
        self.send_response(200 if len(self.seen) % 2 else 500)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk not installed")
def test_wrk_posts_the_body_and_reports_errors(tmp_path: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = b'{"instances": [[1.0, 2.0]]}'
        script = write_script(tmp_path / "s.lua", body, {"Authorization": "Bearer a]]b"})
        url = f"http://127.0.0.1:{server.server_address[1]}/predict"
        result = run_wrk(url, script, connections=1, duration=1, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.seen[0] == ("POST", body, "Bearer a]]b")
    assert result.requests > 0
    # Every other answer is a 500: wrk counts those as status errors.
    assert result.errors_status >= result.requests // 2 - 1
