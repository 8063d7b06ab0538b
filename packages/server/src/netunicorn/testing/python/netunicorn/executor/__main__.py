"""
A stand-in for netunicorn-executor 0.4.2, for Periscope's tests only (the real one cannot be installed without
PyPI). It speaks the executor's recorded protocol (shared/reference/peer-wire): it fetches its execution graph
from NETUNICORN_GATEWAY_ENDPOINT (204 means "not yet"), posts heartbeats to `result/` with state 1, and its
final report to `result` with state 2; flags go to the experiment's flag routes. Stdlib only.

The real executor unpickles the graph with cloudpickle and runs its tasks. This one treats the graph as opaque
bytes, as the server must: the bytes end in a JSON line of test directives after a NUL (the rest may be
anything, non-UTF-8 included), and the final result is the graph's bytes reversed, so a test can tell the
client got back exactly what this executor sent.
"""
import base64
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request

GATEWAY = os.environ["NETUNICORN_GATEWAY_ENDPOINT"].rstrip("/")
EXECUTOR_ID = os.environ["NETUNICORN_EXECUTOR_ID"]
EXPERIMENT_ID = os.environ["NETUNICORN_EXPERIMENT_ID"]
HEARTBEAT = float(os.environ.get("NETUNICORN_EXECUTOR_HEARTBEAT_SECONDS", "10"))


def request(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(GATEWAY + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as answer:
        text = answer.read()
        return answer.status, json.loads(text) if text else None


def graph():
    deadline = time.time() + 60
    while True:
        status, answer = request("GET", "/api/v1/executor/execution_graph?executor_id=" + EXECUTOR_ID)
        if status == 200:
            # A JSON string: b64decode of the raw text would drop the quotes, as the real one does.
            return base64.b64decode(answer)
        if time.time() > deadline:
            sys.exit("no execution graph after 60 s")
        time.sleep(0.2)


def report(results, state):
    path = "/api/v1/executor/result" + ("/" if state == 1 else "")
    request("POST", path, {"executor_id": EXECUTOR_ID, "results": base64.b64encode(results).decode(), "state": state})


def flag(name, suffix=""):
    return "/api/v1/experiment/%s/flag/%s%s" % (EXPERIMENT_ID, name, suffix)


def main():
    raw = graph()
    directives = json.loads(raw.rsplit(b"\0", 1)[1].decode())
    print("executor", EXECUTOR_ID, "got", len(raw), "bytes of graph", flush=True)
    report(b"partial", 1)
    beating = threading.Event()

    def heartbeat():
        while not beating.wait(HEARTBEAT):
            report(b"partial", 1)

    threading.Thread(target=heartbeat, daemon=True).start()
    if "increment" in directives:
        request("POST", flag(directives["increment"], "/increment"))
    if "set" in directives:
        request("POST", flag(directives["set"]), {"text_value": EXECUTOR_ID, "int_value": None})
    time.sleep(directives.get("sleep", 0))
    beating.set()
    report(raw[::-1], 2)
    print("executor", EXECUTOR_ID, "reported", flush=True)


main()
