# The whole agent on a simulated device (sim/run.py on a flash image) against fake_server.py, a
# CPython stand-in for the Aloft server. Runs as one story: v1 installs and is confirmed on its
# trial boot, refused releases change nothing, v2 (a 200 KB file) goes through the whole cycle in
# a 52 KiB heap, v3 drops a folder. Needs python3 with `cryptography` (ALOFT_PYTHON picks another).
from harness import run, tempdir, test
import time
from aloft import fs, tree
from simulated import Device, Server, codes, output

TMP = tempdir("agent")
SERVER = Server(TMP)
RELEASES = SERVER.releases()
DEV = Device(SERVER, TMP, retries=1)
HEAP = "48K"  # the smallest that works is 44K on the 64-bit unix port: this catches a regression of 4K


def expect(boots, want):
    assert codes(boots) == want, "exits %r, expected %r; device output:\n%s" % (codes(boots), want, output(boots))


def events(since=0):
    return [(e["type"], e["sequence"]) for e in SERVER.log()["events"][since:]]


@test
def nothing_offered():
    SERVER.offer(None)
    boots = DEV.run()
    expect(boots, [0])
    assert "up to date" in output(boots)
    c = SERVER.log()["checkins"][-1]
    assert c["sequence"] == 0 and "rejected" not in c, c


@test
def installs_v1_confirms_it_on_its_trial_boot():
    SERVER.offer("r1")
    boots = DEV.run()
    expect(boots, [75, 75, 0])  # install; trial boot: main.py ran, checked in, confirmed; plain boot
    out = output(boots)
    assert "1.0.0 on trial, boot 1 of 3" in out and "running main.py on trial" in out and "1.0.0 confirmed" in out, out
    assert boots[1][1].count("app 1.0.0") == 1, boots[1][1]  # main.py ran once on the trial boot
    assert DEV.app() == RELEASES["r1"], DEV.app()
    rec = DEV.state("installed.json")
    assert rec["sequence"] == 1 and rec["version"] == "1.0.0" and DEV.installed() == dict((p[1:], h) for p, h in RELEASES["r1"].items()), rec
    assert events() == [("downloading", 1), ("installed", 1), ("confirmed", 1)], events()
    for name in ("journal", "journal.ops", "trial.json", "outbox.json"):
        assert DEV.state(name) is None, name
    assert sorted(p for p in DEV.files() if p.startswith("/.aloft/lists/")) == ["/.aloft/lists/" + rec["list"]]
    assert not [p for p in DEV.files() if p.startswith("/.aloft/backup") or p.startswith("/.aloft/stage")]
    c = SERVER.log()["checkins"][-1]
    assert c["sequence"] == 1 and c["version"] == "1.0.0" and c["board"] == "sim" and c["micropython"].count(".") == 2
    assert c["free"] > 0 and c["mpy"], c


def refused(release, variant, why, fetched=0):
    """fetched: the downloads the refusal takes (1: the file list, for a rule only it can break)."""
    before = DEV.files()
    n = len(SERVER.log()["downloads"])
    SERVER.offer(release, variant)
    boots = DEV.run()
    expect(boots, [2])
    assert "last check result: failed" in output(boots), output(boots)
    assert DEV.files() == before, "flash changed after " + variant
    e = SERVER.log()["events"][-1]
    assert e["type"] == "failed" and why in e.get("reason", ""), (variant, e)
    print("     %s: %s" % (variant, e["reason"]))
    got = SERVER.log()["downloads"][n:]
    assert len(got) == fetched and all(d["list"] for d in got), (variant, got)


@test
def refused_releases_change_nothing():
    for variant, why in (
        ("badsig", "signed by 0 trusted key(s), 1 needed"),
        ("tampered", "signed by 0 trusted key(s), 1 needed"),
        ("wrongkey", "signed by 0 trusted key(s), 1 needed"),
        ("forgedkeyid", "signed by 0 trusted key(s), 1 needed"),
        ("board", "incompatible: board sim"),
        ("micropython", "needs MicroPython 9.1"),
    ):
        refused("r2", variant, why)
        if variant != "tampered":  # the failure names the release by its (unverified) manifest
            e = SERVER.log()["events"][-1]
            assert e["sequence"] == 2 and e["version"] == "2.0.0", e
    # Rules only the file list can break: it is fetched (once), checked and dropped.
    for variant, why in (
        ("reserved", "reserved for the agent"),
        ("partialagent", "must carry all of it: lib/aloft/__init__.py is missing"),
        ("traversal", "bad path '../boot.py'"),
        ("fileandfolder", "lib is both a file and a folder"),
        ("unsorted", "not sorted"),
        ("badline", "bad size"),
        ("leadingzero", "bad size"),
        ("countoff", "files.count says"),
    ):
        refused("r2", variant, why, 1)
        e = SERVER.log()["events"][-1]
        assert e["sequence"] == 2 and e["version"] == "2.0.0", e
    # a replayed older release (the server offers sequence 1 to a device at 1)
    refused("r1", "replay", "sequence 1 is not above installed 1")


@test
def server_unreachable_is_an_error():
    before = DEV.files()
    boots = DEV.run(env="ALOFT_SIM_SERVER=http://127.0.0.1:9 ")
    expect(boots, [2])
    assert "failed: [Errno 111] ECONNREFUSED" in output(boots) and "last check result: error" in output(boots)
    assert DEV.files() == before


@test
def installs_v2_with_a_200kb_file_in_a_48k_heap():
    n = len(SERVER.log()["downloads"])
    k = len(SERVER.log()["events"])
    SERVER.offer("r2")
    boots = DEV.run(heap=HEAP)
    expect(boots, [75, 75, 0])
    assert "app 2.0.0 none" in boots[2][1], boots[2][1]
    assert DEV.app() == RELEASES["r2"], DEV.app()  # lib/util.py is gone
    assert DEV.installed() == dict((p[1:], h) for p, h in RELEASES["r2"].items())
    got = [(d["sha256"], d["encoding"]) for d in SERVER.log()["downloads"][n:] if not d["list"]]
    r2 = RELEASES["r2"]
    # changed files only: main.py and data/dup.py are the same bytes, fetched once for each path; big.txt packed
    want = [(r2["/main.py"], "raw"), (r2["/main.py"], "raw"), (r2["/data/big.txt"], "zlib"), (r2["/data/noise.bin"], "raw")]
    assert sorted(got) == sorted(want), got
    assert events(k) == [("downloading", 2), ("installed", 2), ("confirmed", 2)], SERVER.log()["events"][k:]


@test
def v3_drops_the_data_folder():
    SERVER.offer("r3")
    expect(DEV.run(), [75, 75, 0])
    assert DEV.app() == RELEASES["r3"], DEV.app()
    from flashtool import open_image

    bd, vfs = open_image(DEV.image)
    try:
        names = sorted(e[0] for e in vfs.ilistdir("/"))
    finally:
        bd.close()
    assert names == [".aloft", "boot.py", "lib", "main.py"], names


@test
def download_allocates_nothing_per_chunk():
    # RAM allocated for a 200 KB (zlib) or 40 KB (raw) blob equals that for a 12-byte one.
    import gc
    from aloft import blob, config

    config.STAGE = TMP + "/stage"
    tree.makedirs(config.STAGE)
    SERVER.offer("r2")
    r2 = RELEASES["r2"]
    cfg = {"server": SERVER.url, "token": SERVER.token}
    buf = memoryview(bytearray(1024))

    def cost(path):
        sha, size = r2["/" + path], {"lib/keep.py": 12, "data/big.txt": 204800, "data/noise.bin": 40960}[path]
        dst = config.STAGE + "/" + sha[:16]
        blob.get(cfg, sha, size, path, dst, buf)  # loads the modules
        fs.remove(dst)
        gc.collect()
        gc.disable()
        try:
            before = gc.mem_alloc()
            blob.get(cfg, sha, size, path, dst, buf)
            return gc.mem_alloc() - before
        finally:
            gc.enable()
            fs.remove(dst)

    small_raw = cost("lib/keep.py")
    big_raw = cost("data/noise.bin")
    big_zlib = cost("data/big.txt")  # compresses: it comes packed
    print("     bytes allocated: 12 B raw %d, 40 KB raw %d, 200 KB zlib %d" % (small_raw, big_raw, big_zlib))
    assert big_raw - small_raw < 100, (small_raw, big_raw)
    assert big_zlib - small_raw < 3000, (small_raw, big_zlib)  # the inflater's window and state


@test
def the_application_keeps_its_gc_threshold():
    # The agent collects often while it works (core.tight) and gives the application its own setting back: after
    # boot, after a check, after a confirmation.
    main = (
        b"import gc, aloft\nprint('threshold at start', gc.threshold())\ngc.threshold(12288)\naloft.check()\n"
        b"print('threshold after check', gc.threshold())\naloft.confirm()\nprint('threshold after confirm', gc.threshold())\n"
    )
    tree.makedirs(TMP + "/gc")
    dev = Device(SERVER, TMP + "/gc", files={"/main.py": main}, retries=1)
    SERVER.offer(None)
    boots = dev.run()
    out = output(boots)
    assert codes(boots) == [0] and out.count("up to date") == 2, out
    assert "threshold at start 4096" not in out and "threshold at start" in out, out
    assert "threshold after check 12288" in out and "threshold after confirm 12288" in out, out


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
