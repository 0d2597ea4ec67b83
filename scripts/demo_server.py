"""What the crash campaign and the soak share: a demo library, a free loopback port, waiting for
`carrel serve` to answer, and the demo accounts' sessions."""
import http.client
import json
import socket
import subprocess
import time

PASSWORD = "westport-demo-2026"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_demo_library(carrel, data, patrons, items, loans):
    subprocess.run([carrel, "init", "--data", data], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([carrel, "demo", "seed", "--data", data, "--patrons", str(patrons), "--items",
                    str(items), "--loans", str(loans)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def wait_serving(port, proc, seconds=30):
    """True once GET /api/v1/hours answers 200; False if `proc` exits or time runs out."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/hours")
            if c.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def log_in(port, users):
    """Session tokens of the demo accounts `users` (their password is the demo's)."""
    tokens = {}
    for user in users:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/api/v1/session", json.dumps({"username": user, "password": PASSWORD}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        if r.status != 201:
            raise RuntimeError("cannot log in as %s: %d" % (user, r.status))
        tokens[user] = json.loads(body)["token"]
    return tokens
