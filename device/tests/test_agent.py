# The whole agent on a simulated device (sim/run.py on a flash image) against fake_server.py, a
# CPython stand-in for the Aloft server that injects faults. Runs as one story: v1 installs,
# refused releases and broken downloads change nothing, v2 (a 200 KB file) installs in a 64 KiB
# heap, v3 drops a folder. Needs python3 with `cryptography` (ALOFT_PYTHON picks another).
from harness import DEVICE, HERE, micropython, read, run, sh, tempdir, test, write
import json
import os
import time
import flashtool
from aloft import fs, http

TMP = tempdir("agent")
IMG = TMP + "/flash.img"
STATE = TMP + "/server.json"



def _python():
    # fake_server.py signs with `cryptography`: ALOFT_PYTHON, else the first of these that has it.
    if os.getenv("ALOFT_PYTHON"):
        return os.getenv("ALOFT_PYTHON")
    for candidate in (DEVICE + "/../.venv/bin/python3", "python3"):
        if sh("%s -c 'import cryptography' > /dev/null 2>&1" % candidate) == 0:
            return candidate
    raise SystemExit("test_agent: no python3 with the cryptography package (pip install cryptography, or set ALOFT_PYTHON)")


PYTHON = _python()

sh("%s %s/fake_server.py --state %s --lifetime 120 > %s/server.log 2>&1 &" % (PYTHON, HERE, STATE, TMP))
for _ in range(300):
    if fs.stat(STATE):
        break
    time.sleep_ms(50)
else:
    print(read(TMP + "/server.log").decode())
    raise SystemExit("test_agent: fake_server.py did not start")
with open(STATE) as f:
    SERVER = json.load(f)


def server(method, path, body=None):
    if method == "POST":
        return http.post_json({"server": SERVER["url"], "token": SERVER["token"]}, path, body)
    r = http.request(SERVER["url"], "GET", path, SERVER["token"])
    try:
        return r.json()
    finally:
        r.close()


def offer(release, variant=None, fault=None):
    server("POST", "/_ctl", {"release": release, "variant": variant, "fault": fault})


RELEASES = server("GET", "/_releases")

# The provisioned device: boot.py, the agent, its config.
src = TMP + "/src"
write(src + "/boot.py", read(DEVICE + "/boot.py"))
for name in os.listdir(DEVICE + "/aloft"):
    if name.endswith(".py"):
        write(src + "/lib/aloft/" + name, read(DEVICE + "/aloft/" + name))
cfg = {"server": SERVER["url"], "id": "dev-1", "token": SERVER["token"], "keys": [SERVER["pubkey"]], "board": "sim"}
cfg.update({"poll": 300, "timeout": 2})
write(src + "/.aloft/config.json", json.dumps(cfg).encode())
flashtool.mkfs(IMG, 1024 * 1024, src)


def boot(heap=None, env=""):
    code = sh(
        "%s %s %s/sim/run.py %s > %s/run.log 2>&1"
        % (env + micropython(), "-X heapsize=" + heap if heap else "", DEVICE, IMG, TMP)
    )
    return code, read(TMP + "/run.log").decode()


def flash():
    # {path: sha256} of every file on the simulated device
    bd, vfs = flashtool.open_image(IMG)
    try:
        return dict((p, flashtool.digest(vfs, p)) for p, _ in flashtool.files(vfs))
    finally:
        bd.close()


def expect(code, out, want):
    assert code == want, "exit %d, expected %d; device output:\n%s" % (code, want, out)


def app_files(files):
    # The release's part of the flash: everything but the agent and its state.
    return dict((p, h) for p, h in files.items() if not p.startswith("/lib/aloft/") and not p.startswith("/.aloft/"))


def installed_record():
    bd, vfs = flashtool.open_image(IMG)
    try:
        with vfs.open("/.aloft/installed.json", "r") as f:
            return json.load(f)
    finally:
        bd.close()


def last_event():
    return server("GET", "/_log")["events"][-1]


@test
def nothing_offered():
    offer(None)
    code, out = boot()
    expect(code, out, 0)
    assert "up to date" in out, out
    assert server("GET", "/_log")["checkins"][-1]["sequence"] == 0


@test
def installs_v1_and_resets():
    offer("r1")
    code, out = boot()
    expect(code, out, 75)
    code, out = boot()
    expect(code, out, 0)
    assert "app 1.0.0" in out, out
    want = dict(("/" + p, h) for p, h in RELEASES["r1"].items())
    want["/boot.py"] = flash()["/boot.py"]
    assert app_files(flash()) == want, app_files(flash())
    rec = installed_record()
    assert rec["sequence"] == 1 and rec["version"] == "1.0.0" and rec["files"] == RELEASES["r1"], rec
    types = [(e["type"], e["sequence"]) for e in server("GET", "/_log")["events"]]
    assert types == [("downloading", 1), ("installed", 1)], types
    c = server("GET", "/_log")["checkins"][-1]
    assert c["sequence"] == 1 and c["version"] == "1.0.0" and c["board"] == "sim" and c["micropython"].count(".") == 2
    assert c["free"] > 0 and c["mpy"], c


def refused(release, variant, fault, why):
    before = flash()
    downloads = len(server("GET", "/_log")["downloads"])
    offer(release, variant, fault)
    code, out = boot()
    expect(code, out, 2)
    assert "last check result: failed" in out, out
    assert flash() == before, "flash changed after %s/%s" % (variant, fault)
    e = last_event()
    assert e["type"] == "failed" and why in e.get("reason", ""), (variant, fault, e)
    print("     %s: %s" % (variant or fault["kind"] + " " + fault["blob"], e["reason"]))
    return len(server("GET", "/_log")["downloads"]) - downloads


@test
def refused_releases_change_nothing():
    for variant, why in (
        ("badsig", "no valid signature"),
        ("tampered", "no valid signature"),
        ("wrongkey", "no valid signature"),
        ("forgedkeyid", "no valid signature"),
        ("board", "incompatible: board sim"),
        ("micropython", "needs MicroPython 9.1"),
        ("reserved", "reserved for the agent"),
        ("traversal", "bad path '../boot.py'"),
    ):
        assert refused("r2", variant, None, why) == 0, variant
        if variant != "tampered":  # the failure names the release by its (unverified) manifest
            assert last_event()["sequence"] == 2 and last_event()["version"] == "2.0.0", last_event()
    # a replayed older release (the server offers sequence 1 to a device at 1)
    assert refused("r1", "replay", None, "sequence 1 is not above installed 1") == 0


@test
def broken_downloads_change_nothing():
    for blob, kind, why in (
        ("data/big.txt", "500", "HTTP 500 for data/big.txt"),
        ("data/noise.bin", "truncate", "connection closed after 20480 of 40960 bytes of data/noise.bin"),
        ("data/big.txt", "truncate", "download of data/big.txt failed: connection closed inside the zlib stream"),
        ("data/noise.bin", "corrupt", "sha256 mismatch for data/noise.bin"),
        ("data/big.txt", "corrupt", "download of data/big.txt failed: corrupt zlib data"),
        ("data/noise.bin", "long", "server sends 40961 bytes for data/noise.bin"),
        ("data/noise.bin", "stall", "download of data/noise.bin failed: ETIMEDOUT"),
    ):
        t = time.ticks_ms()
        refused("r2", None, {"blob": blob, "kind": kind}, why)
        if kind == "stall":
            assert time.ticks_diff(time.ticks_ms(), t) < 4000, "socket timeout not applied"


@test
def server_unreachable_is_an_error():
    before = flash()
    code, out = boot(env="ALOFT_SIM_SERVER=http://127.0.0.1:9 ")
    expect(code, out, 2)
    assert "failed: [Errno 111] ECONNREFUSED" in out and "last check result: error" in out, out
    assert flash() == before


@test
def installs_v2_with_a_200kb_file_in_a_64k_heap():
    n = len(server("GET", "/_log")["downloads"])
    offer("r2")
    code, out = boot(heap="64K")
    expect(code, out, 75)
    code, out = boot(heap="64K")
    expect(code, out, 0)
    assert "app 2.0.0 none" in out, out
    want = dict(("/" + p, h) for p, h in RELEASES["r2"].items())
    want["/boot.py"] = flash()["/boot.py"]
    assert app_files(flash()) == want, app_files(flash())  # lib/util.py is gone
    assert installed_record()["files"] == RELEASES["r2"]
    got = [(d["sha256"], d["encoding"]) for d in server("GET", "/_log")["downloads"][n:]]
    r2 = RELEASES["r2"]
    # changed files only, each blob once (main.py and data/dup.py are the same bytes); big.txt packed
    assert sorted(got) == sorted(
        [(r2["main.py"], "raw"), (r2["data/big.txt"], "zlib"), (r2["data/noise.bin"], "raw")]
    ), got
    assert [e["type"] for e in server("GET", "/_log")["events"][-2:]] == ["downloading", "installed"]


@test
def v3_drops_the_data_folder():
    offer("r3")
    code, out = boot()
    expect(code, out, 75)
    files = flash()
    assert not [p for p in files if p.startswith("/data/")], files
    bd, vfs = flashtool.open_image(IMG)
    try:
        names = [e[0] for e in vfs.ilistdir("/")]
    finally:
        bd.close()
    assert "data" not in names, names
    assert sorted(vfs_names for vfs_names in names) == sorted([".aloft", "boot.py", "lib", "main.py"]), names


@test
def download_allocates_nothing_per_chunk():
    # RAM allocated for a 200 KB (zlib) or 40 KB (raw) blob equals that for a 12-byte one.
    import gc
    from aloft import config, download

    config.STAGE = TMP + "/stage"
    fs.makedirs(config.STAGE)
    offer("r2")
    r2 = RELEASES["r2"]
    cfg = {"server": SERVER["url"], "token": SERVER["token"]}
    buf = memoryview(bytearray(1024))

    def cost(path, packed):
        f = {"path": path, "sha256": r2[path], "size": 0}
        f["size"] = {"lib/keep.py": 12, "data/big.txt": 204800, "data/noise.bin": 40960}[path]
        gc.collect()
        gc.disable()
        try:
            before = gc.mem_alloc()
            download.blob(cfg, f, packed, buf)
            return gc.mem_alloc() - before
        finally:
            gc.enable()

    small_raw = cost("lib/keep.py", False)
    big_raw = cost("data/noise.bin", False)
    big_zlib = cost("data/big.txt", True)
    print("     bytes allocated: 12 B raw %d, 40 KB raw %d, 200 KB zlib %d" % (small_raw, big_raw, big_zlib))
    assert big_raw - small_raw < 100, (small_raw, big_raw)
    assert big_zlib - small_raw < 3000, (small_raw, big_zlib)  # the inflater's window and state


try:
    run()
finally:
    try:
        server("POST", "/_quit")
    except Exception:
        pass
    fs.rmtree(TMP)
