#!/usr/bin/env python3
"""Check-ins at scale, measured side by side in one run (`make bench` runs it after bench.py).

For each database (SQLite always; PostgreSQL when ALOFT_TEST_POSTGRES_URL names one, as
scripts/with-postgres.sh sets for a throwaway cluster): a release build of `aloft serve` with DEVICES
registered devices, then wrk (Debian `wrk`) at 32 connections for SECONDS, ROUNDS times in turn:
  - check-ins with nothing to do, every request from the next device in turn (its own token and body);
  - GET /healthz of the same server: what the framework costs;
and, when nginx is installed (Debian `nginx-light`), nginx serving a static version file, which is what
the simplest OTA scripts poll. Printed as requests/s, p99, and ratios to /healthz of the same run. Each server is
warmed up first (3 s of each), so every active device has checked in once: the figures are the steady state.

    ALOFT_BENCH_DEVICES=N   devices in the database (default 100000)
    ALOFT_BENCH_ACTIVE=N    of which checking in during the run (default 5000): registered through the
                            management API; the others are added with SQL (unknown tokens), so that the
                            look-ups run against a database of DEVICES devices without registering them all
    ALOFT_BENCH_SECONDS=S   seconds per wrk run (default 5)
    ALOFT_BENCH_ROUNDS=N    rounds of /healthz then check-ins (default 3); the medians are printed
    ALOFT_BENCH_BIN=PATH    the aloft binary (default .build/release/aloft), e.g. an older build for a before figure
    ALOFT_BENCH_FLEET=N     simulated devices for the fleet figure (default 16; 0 skips it)

Then a firmware image (bench.py's, 1.5 MiB, the esp32-ota slot) as a device downloads it: GET /api/v1/blobs/{sha256}
with its token, raw (no Accept-Encoding), whole and with `Range: bytes=786432-` (its second half, as a resumed download
asks), wrk at 32 connections, ROUNDS rounds of SECONDS; nginx serving the same file at the same path in the same run,
each with and without the Range; requests/s, MB/s (10^6 bytes, headers included, as wrk counts), p99 and aloft/nginx.

Then the fleet figure: N real simulated devices (MicroPython each, `aloft sim fleet`, 2 booting at once on a
2-core machine) updated from one release to the next, as devices updated per minute.
"""

import concurrent.futures
import http.client
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import bench  # noqa: E402 (its firmware image)

ALOFT = os.getenv("ALOFT_BENCH_BIN") or os.path.join(ROOT, ".build", "release", "aloft")
FLEET = int(os.getenv("ALOFT_BENCH_FLEET") or 16)
DEVICES = int(os.getenv("ALOFT_BENCH_DEVICES") or 100000)
ACTIVE = min(DEVICES, int(os.getenv("ALOFT_BENCH_ACTIVE") or 5000))
SECONDS = int(os.getenv("ALOFT_BENCH_SECONDS") or 5)
ROUNDS = int(os.getenv("ALOFT_BENCH_ROUNDS") or 3)
CONNECTIONS = 32
TOKEN = "bench-admin-token-0123456789abcdef"

# wrk: each request is the next device's check-in (id, token and body of its own), round robin.
CHECKIN_LUA = r"""
local devices = {}
for line in io.lines("%(tokens)s") do
  local id, token = line:match("^(%%S+) (%%S+)$")
  devices[#devices + 1] = {id = id, token = token}
end
local next_device = 0
function setup(thread)
  thread:set("offset", next_device)
  next_device = next_device + math.floor(#devices / 4)
end
-- Every request is formatted once, before the run: wrk shares the machine's cores with the server, and building a
-- request in Lua each time took a fifth of a core away from what is measured.
local requests = {}
function init(args)
  i = offset
  for k, d in ipairs(devices) do
    local body = '{"id":"' .. d.id .. '","version":"1.0.0","sequence":1,"board":"esp32","micropython":"1.22.0","agent":"0.3.0","mpy":6,"free":1000000,"format":2}'
    requests[k] = wrk.format("POST", "/api/v1/device/checkin", {["Authorization"] = "Bearer " .. d.token, ["Content-Type"] = "application/json"}, body)
  end
end
function request()
  i = i %% #requests + 1
  return requests[i]
end
"""


# wrk: every request a device's download of a blob, raw, with its token (and a Range when given).
BLOB_LUA = r"""
wrk.headers["Authorization"] = "Bearer %(token)s"
%(range)s
"""
RANGE_FROM = bench.FW_SIZE // 2  # the second half of the image, as a download resumed halfway asks for it


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wrk(url, script=None, seconds=None):
    """(requests/s, p99 ms, non-2xx, bytes/s) of wrk -t1 -c32 against url."""
    args = ["wrk", "-t1", "-c%d" % CONNECTIONS, "-d%ds" % (seconds or SECONDS), "--latency"]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMGT]?)B", out)  # wrk's units are powers of 1024
    rate_bytes = float(transfer.group(1)) * 1024 ** " KMGT".index(transfer.group(2) or " ")
    return rate, p99_ms, int(bad.group(1)) if bad else 0, rate_bytes


class Server:
    def __init__(self, work, database=None):
        data = os.path.join(work, "data")
        args = [ALOFT, "serve", "--data", data, "--port", "0", "--admin-token", TOKEN, "--log-level", "error",
                "--device-rate", "0", "--ip-rate", "0"]
        if database:
            args += ["--database", database]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            self.process.kill()
            sys.exit("aloft serve did not start: %r" % line)
        self.port = int(match.group(1))
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.process.terminate()
        self.process.wait()


def register(server, n, tokens_path):
    """n devices registered through the management API (8 connections), their tokens in tokens_path."""
    def batch(start):
        conn = http.client.HTTPConnection("127.0.0.1", server.port)
        out = []
        for i in range(start, min(start + 500, n)):
            body = json.dumps({"id": "bench-%06d" % i, "channel": "stable"})
            conn.request("POST", "/api/v1/admin/devices", body, {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
            r = conn.getresponse()
            answer = r.read()
            if r.status != 201:
                raise RuntimeError("registering bench-%06d: HTTP %d %s" % (i, r.status, answer[:200]))
            out.append("bench-%06d %s" % (i, json.loads(answer)["token"]))
        conn.close()
        return out

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        lines = [line for part in pool.map(batch, range(0, n, 500)) for line in part]
    with open(tokens_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return time.monotonic() - t0


def pad(work, database, n):
    """n more devices straight into the database (ids pad-N, random token hashes), copying an API-registered row's
    channel and created_at so that every column is as the server writes it."""
    if n <= 0:
        return
    insert = ("INSERT INTO devices (id, channel, token_hash, sequence, created_at) "
              "SELECT %s, channel, %s, 0, created_at FROM devices WHERE id = 'bench-000000'")
    if database:
        sql = insert % ("'pad-' || g", "md5('a' || g) || md5('b' || g)")
        sql = sql.replace("FROM devices WHERE", "FROM devices, generate_series(1, %d) g WHERE" % n)
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", database, "-c", sql], check=True, capture_output=True)
    else:
        import hashlib
        import sqlite3

        db = sqlite3.connect(os.path.join(work, "data", "aloft.sqlite"), timeout=60)
        with db:
            db.executemany(insert % ("?", "?"), (("pad-%06d" % i, hashlib.sha256(b"pad %d" % i).hexdigest()) for i in range(n)))
        db.close()


def publish(work, server, *extra):
    env = dict(os.environ, ALOFT_SERVER=server.url, ALOFT_ADMIN_TOKEN=TOKEN)
    keys = os.path.join(work, "keys")
    if not os.path.exists(keys):
        subprocess.run([ALOFT, "keys", "generate", "--out", keys], env=env, check=True, capture_output=True)
    app = os.path.join(work, "app")
    os.makedirs(app, exist_ok=True)
    with open(os.path.join(app, "main.py"), "w") as f:
        f.write("print('bench')\n")
    subprocess.run([ALOFT, "release", "publish", app, "--version", "1.0.0", "--key", os.path.join(keys, "release.key"), *extra],
                   env=env, check=True, capture_output=True)


def measure(name, work, database=None):
    os.makedirs(work)
    server = Server(work, database)
    try:
        tokens = os.path.join(work, "tokens.txt")
        took = register(server, ACTIVE, tokens)
        pad(work, database, DEVICES - ACTIVE)
        publish(work, server)
        script = os.path.join(work, "checkin.lua")
        with open(script, "w") as f:
            f.write(CHECKIN_LUA % {"tokens": tokens})
        # Warm up: the framework, and every active device's first check-in (its token looked up in the database once,
        # then kept), so that what is measured is the steady state of devices checking in again and again.
        wrk(server.url + "/healthz", seconds=3)
        wrk(server.url + "/api/v1/device/checkin", script, seconds=3)
        # Alternating runs: whatever else the machine does (a shared 2-core machine) weighs on both of a round, so the
        # ratio of each round is fairer than one of two runs far apart; the medians are printed.
        rounds = []
        for _ in range(ROUNDS):
            health = wrk(server.url + "/healthz")
            checkin = wrk(server.url + "/api/v1/device/checkin", script)
            rounds.append((checkin, health, checkin[0] / health[0]))
        checkin = tuple(median([r[0][i] for r in rounds]) for i in range(2)) + (sum(r[0][2] for r in rounds),)
        health = tuple(median([r[1][i] for r in rounds]) for i in range(2))
        ratio = median([r[2] for r in rounds])
        print("%s: %d devices, %d of them registered through the API in %.0f s (%d/s)" % (name, DEVICES, ACTIVE, took, ACTIVE / took))
        print("  check-ins, nothing to do: %8.0f/s  p99 %6.1f ms%s" % (checkin[0], checkin[1], "  (%d not 2xx!)" % checkin[2] if checkin[2] else ""))
        print("  GET /healthz:             %8.0f/s  p99 %6.1f ms" % health[:2])
        print("  check-ins / healthz:      %8.3f   (rounds: %s)" % (ratio, ", ".join("%.3f" % r[2] for r in rounds)))
        return checkin, health
    finally:
        server.stop()


class Nginx:
    """nginx (Debian nginx-light) serving the folder root/www on a free loopback port: one worker, no access log.
    Nginx.binary() is None without nginx."""

    @staticmethod
    def binary():
        return shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)

    def __init__(self, root):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        conf = os.path.join(root, "nginx.conf")
        # user: the worker runs as this user, as the master does (started by root, nginx's worker would be nobody, who
        # cannot read a folder of mkdtemp's, and every answer would be a 403)
        with open(conf, "w") as f:
            f.write("""user %(u)s; daemon off; worker_processes 1; pid %(r)s/nginx.pid; error_log %(r)s/error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path %(r)s; proxy_temp_path %(r)s; fastcgi_temp_path %(r)s; uwsgi_temp_path %(r)s; scgi_temp_path %(r)s;
  server { listen 127.0.0.1:%(p)d; root %(r)s/www; } }
""" % {"r": root, "p": self.port, "u": pwd.getpwuid(os.getuid()).pw_name})
        self.process = subprocess.Popen([self.binary(), "-c", conf, "-p", root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait()


def nginx(work):
    """requests/s of nginx serving a static version file, or None without nginx."""
    if not Nginx.binary():
        return None
    root = os.path.join(work, "nginx")
    os.makedirs(os.path.join(root, "www"))
    with open(os.path.join(root, "www", "version.json"), "w") as f:
        f.write('{"version": "1.0.0"}\n')
    web = Nginx(root)
    try:
        return wrk(web.url + "/version.json")
    finally:
        web.stop()


def get(url, headers):
    """(status, body length) of a GET."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
            return r.status, len(r.read())
    except urllib.error.HTTPError as e:
        return e.code, 0


def firmware_blob(work):
    """The server serving bench.py's firmware image to a device, whole and from RANGE_FROM, and nginx (when installed)
    serving the same file at the same path, alternating in each round: {range: (aloft, nginx or None, ratio or None)}
    with medians of (requests/s, p99 ms, non-2xx, bytes/s)."""
    os.makedirs(work)
    image = bench.firmware_image(os.path.join(work, "firmware.bin"))
    server = Server(work)
    web = None
    try:
        publish(work, server, "--firmware", "%s=%s" % (bench.FW_BUILD, image["path"]))
        tokens = os.path.join(work, "tokens.txt")
        register(server, 1, tokens)
        with open(tokens) as f:
            token = f.read().split()[1]
        path = "/api/v1/blobs/" + image["sha256"]
        if Nginx.binary():
            root = os.path.join(work, "nginx")
            os.makedirs(os.path.join(root, "www", "api", "v1", "blobs"))
            shutil.copy(image["path"], os.path.join(root, "www") + path)
            web = Nginx(root)
        cases = []
        for start in (None, RANGE_FROM):
            script = os.path.join(work, "blob-%s.lua" % (start or "whole"))
            with open(script, "w") as f:
                f.write(BLOB_LUA % {"token": token, "range": 'wrk.headers["Range"] = "bytes=%d-"' % start if start else ""})
            # Both answer as a device expects (200 with the whole image, 206 with the rest), or the figures mean nothing.
            want = (206, image["size"] - start) if start else (200, image["size"])
            headers = dict({"Authorization": "Bearer " + token}, **({"Range": "bytes=%d-" % start} if start else {}))
            for base in (server.url,) + ((web.url,) if web else ()):
                got = get(base + path, headers)
                if got != want:
                    sys.exit("firmware blob from %s: %r, not %r" % (base, got, want))
            cases.append((start, script))
        for start, script in cases:  # warm-up
            wrk(server.url + path, script, seconds=2)
            if web:
                wrk(web.url + path, script, seconds=2)
        rounds = {start: [] for start, _ in cases}
        for _ in range(ROUNDS):
            for start, script in cases:
                a = wrk(server.url + path, script)
                n = wrk(web.url + path, script) if web else None
                rounds[start].append((a, n, a[0] / n[0] if n else None))
        out = {}
        for start, got in rounds.items():
            a = tuple(median([r[0][i] for r in got]) for i in (0, 1)) + (sum(r[0][2] for r in got), median([r[0][3] for r in got]))
            n = tuple(median([r[1][i] for r in got]) for i in (0, 1)) + (sum(r[1][2] for r in got), median([r[1][3] for r in got])) if web else None
            out[start] = (a, n, median([r[2] for r in got]) if web else None, [r[2] for r in got] if web else [])
        return image["size"], out
    finally:
        if web:
            web.stop()
        server.stop()


def fleet(work):
    """(devices, seconds) for FLEET simulated devices to go from 1.0.0 to 1.1.0 (provisioned and installed first)."""
    os.makedirs(work)
    server = Server(work)
    try:
        env = dict(os.environ, ALOFT_SERVER=server.url, ALOFT_ADMIN_TOKEN=TOKEN)
        publish(work, server)
        keys = os.path.join(work, "keys")
        base = [ALOFT, "sim", "fleet", os.path.join(work, "fleet"), "--count", str(FLEET), "--parallel", "2", "--pubkey",
                os.path.join(keys, "release.pub")]
        subprocess.run(base, env=env, check=True, capture_output=True)
        app = os.path.join(work, "app")
        with open(os.path.join(app, "main.py"), "w") as f:
            f.write("print('bench 2')\n")
        with open(os.path.join(app, "data.bin"), "wb") as f:
            f.write(os.urandom(20000))
        subprocess.run([ALOFT, "release", "publish", app, "--version", "1.1.0", "--key", os.path.join(keys, "release.key")],
                       env=env, check=True, capture_output=True)
        t0 = time.monotonic()
        out = subprocess.run(base, env=env, check=True, capture_output=True, text=True).stdout
        took = time.monotonic() - t0
        if "%d on 1.1.0" % FLEET not in out:
            sys.exit("fleet figure: not every device updated:\n" + out)
        return FLEET, took
    finally:
        server.stop()


def main():
    if not shutil.which("wrk"):
        print("check-ins at scale: skipped (no wrk; apt-get install wrk nginx-light)")
        return
    if not os.access(ALOFT, os.X_OK):
        sys.exit("missing %s (run `make bench`)" % ALOFT)
    work = tempfile.mkdtemp(prefix="aloft-bench-server-")
    try:
        print("check-ins at scale: wrk -t1 -c%d, %d rounds of %d s runs, %d devices of %d in turn checking in with nothing to do" % (CONNECTIONS, ROUNDS, SECONDS, ACTIVE, DEVICES))
        sqlite = measure("SQLite", os.path.join(work, "sqlite"))
        pg_url = os.getenv("ALOFT_TEST_POSTGRES_URL")
        postgres = measure("PostgreSQL", os.path.join(work, "postgres"), pg_url) if pg_url else None
        if not pg_url:
            print("PostgreSQL: skipped (run under scripts/with-postgres.sh, as make bench does)")
        static = nginx(work)
        if static:
            print("nginx, a static version file: %8.0f/s  p99 %6.1f ms%s" % (static[0], static[1], "  (%d not 2xx!)" % static[2] if static[2] else ""))
            print("  SQLite check-ins / nginx: %.3f" % (sqlite[0][0] / static[0]) + ("; PostgreSQL: %.3f" % (postgres[0][0] / static[0]) if postgres else ""))
        else:
            print("nginx: skipped (apt-get install nginx-light)")
        size, blob = firmware_blob(os.path.join(work, "firmware"))
        print("firmware image to a device (%d bytes, raw, its token), wrk -t1 -c%d, %d rounds of %d s; nginx serving the same file "
              "in the same run:" % (size, CONNECTIONS, ROUNDS, SECONDS))
        for start, (a, n, ratio, ratios) in blob.items():
            what = "Range bytes=%d- (206)" % start if start else "whole (200)"
            line = "  %-26s aloft %6.0f/s %6.0f MB/s  p99 %6.1f ms%s" % (what, a[0], a[3] / 1e6, a[1], "  (%d not 2xx!)" % a[2] if a[2] else "")
            if n:
                line += ";  nginx %6.0f/s %6.0f MB/s  p99 %6.1f ms%s;  aloft/nginx %.3f (rounds: %s)" % (
                    n[0], n[3] / 1e6, n[1], "  (%d not 2xx!)" % n[2] if n[2] else "", ratio, ", ".join("%.3f" % r for r in ratios))
            print(line)
        if FLEET > 0:
            count, took = fleet(os.path.join(work, "fleet"))
            print("fleet: %d simulated devices (real MicroPython, 2 at a time) updated 1.0.0 -> 1.1.0 in %.0f s: %.0f devices/min"
                  % (count, took, count * 60 / took))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
