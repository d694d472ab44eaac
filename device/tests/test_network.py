# Network faults on a simulated device against fake_server.py: connections dropped mid-body, HTTP
# 500 and 404, a corrupted byte, a server that stalls, hangs or trickles, one that ignores Range.
# Nothing corrupted is ever installed; what arrived intact is kept and the next attempt resumes
# it with a Range request; once the server behaves, the device updates on its own.
from harness import run, tempdir, test
import time
from aloft import tree
from simulated import Device, Server, codes, output

TMP = tempdir("network")
SERVER = Server(TMP)
RELEASES = SERVER.releases()
R2 = RELEASES["r2"]
NOISE = R2["/data/noise.bin"]  # 40 KB, fetched raw
BIG = R2["/data/big.txt"]  # 200 KB, fetched zlib-packed
DEV = Device(SERVER, TMP, retries=1, min_speed=16384)
V1 = None


def downloads(since):
    return [(d["sha256"], d["encoding"], d["range"], d["status"]) for d in SERVER.log()["downloads"][since:]]


def staged():
    return dict((p.split("/")[-1], p) for p in DEV.files() if p.startswith("/.aloft/stage/"))


def part_size(sha, path):
    from flashtool import open_image
    from aloft import config

    bd, vfs = open_image(DEV.image)
    try:
        return vfs.stat(config.staged(sha, path) + ".part")[6]
    except OSError:
        return None
    finally:
        bd.close()


def fails(fault, why, env=""):
    """Boot once with fault: the update fails with why, the release on flash stays v1."""
    SERVER.offer("r2", None, fault)
    k = len(SERVER.log()["events"])
    t = time.ticks_ms()
    boots = DEV.run(env=env)
    assert codes(boots) == [2] and "last check result: failed" in output(boots), output(boots)
    assert DEV.app() == V1 and DEV.state("installed.json")["sequence"] == 1, DEV.app()
    assert DEV.state("journal") is None
    e = SERVER.log()["events"][-1]
    assert e["type"] == "failed" and why in e["reason"], (why, e)
    assert [x["type"] for x in SERVER.log()["events"][k:]] == ["downloading", "failed"]
    print("     %s %s: %s (%d ms)" % (fault["kind"], fault["blob"], e["reason"], time.ticks_diff(time.ticks_ms(), t)))
    return e["reason"]


def installs():
    """The server behaves again: the device ends on v2 by itself."""
    SERVER.offer("r2")
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    assert DEV.app() == R2
    assert staged() == {}, staged()  # the stage is gone once the release is confirmed
    return output(boots)


def back_to_v1():
    DEV.load(TMP + "/v1.img")


@test
def setup_v1():
    global V1
    SERVER.offer("r1")
    assert codes(DEV.run()) == [75, 75, 0]
    V1 = RELEASES["r1"]
    assert DEV.app() == V1
    DEV.save(TMP + "/v1.img")


@test
def a_dropped_raw_download_resumes_with_range():
    n = len(SERVER.log()["downloads"])
    fails({"blob": "data/noise.bin", "kind": "truncate"}, "connection closed after")
    got = [d for d in downloads(n) if d[0] == NOISE]
    assert got[0] == (NOISE, "raw", None, 200), got
    assert got[1][2] == "bytes=20480-" and got[1][3] == 206, got  # the retry asks for the rest only
    have = part_size(NOISE, "/data/noise.bin")
    assert have == 30720, have  # both halves that arrived are kept on flash
    n = len(SERVER.log()["downloads"])
    out = installs()
    got = [d for d in downloads(n) if d[0] == NOISE]
    assert got == [(NOISE, "raw", "bytes=%d-" % have, 206)], got
    assert "get data/noise.bin (40960 bytes, from 30720)" in out, out
    back_to_v1()


@test
def a_dropped_zlib_download_resumes_raw_from_the_inflated_length():
    n = len(SERVER.log()["downloads"])
    # the first attempt (zlib) ends inside the stream, the second (raw, Range) early too
    fails({"blob": "data/big.txt", "kind": "truncate"}, "connection closed after")
    assert "connection closed inside the zlib stream; try 2 of 2" in open(TMP + "/run.log").read()
    got = [d for d in downloads(n) if d[0] == BIG]
    assert got[0] == (BIG, "zlib", None, 200), got
    assert got[1][1] == "raw" and got[1][2].startswith("bytes=") and got[1][3] == 206, got
    have = part_size(BIG, "/data/big.txt")
    assert 0 < have < 204800, have
    n = len(SERVER.log()["downloads"])
    installs()
    assert [d for d in downloads(n) if d[0] == BIG] == [(BIG, "raw", "bytes=%d-" % have, 206)]
    back_to_v1()


@test
def a_retry_within_the_same_check_finishes_the_download():
    SERVER.offer("r2", None, {"blob": "data/noise.bin", "kind": "truncate", "times": 1})
    n = len(SERVER.log()["downloads"])
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    assert "try 2 of 2" in output(boots) and DEV.app() == R2
    got = [d for d in downloads(n) if d[0] == NOISE]
    assert got == [(NOISE, "raw", None, 200), (NOISE, "raw", "bytes=20480-", 206)], got
    back_to_v1()


@test
def a_server_ignoring_range_means_starting_over():
    fails({"blob": "data/noise.bin", "kind": "truncate", "times": 2}, "connection closed after")
    SERVER.offer("r2", None, {"blob": "data/noise.bin", "kind": "norange"})
    n = len(SERVER.log()["downloads"])
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0] and "the server sent all of data/noise.bin, starting over" in output(boots)
    assert [d[3] for d in downloads(n) if d[0] == NOISE] == [200]
    assert DEV.app() == R2
    back_to_v1()


@test
def http_errors_corruption_and_a_silent_server_install_nothing():
    for fault, why in (
        ({"blob": "data/big.txt", "kind": "500"}, "HTTP 500 for data/big.txt"),
        ({"blob": "data/noise.bin", "kind": "404"}, "HTTP 404 for data/noise.bin"),
        ({"blob": "data/noise.bin", "kind": "corrupt"}, "sha256 mismatch for data/noise.bin"),
        ({"blob": "data/big.txt", "kind": "corrupt"}, "data/big.txt"),
        ({"blob": "data/noise.bin", "kind": "long"}, "server sends 40961 bytes for data/noise.bin"),
        ({"blob": "data/noise.bin", "kind": "stall"}, "download of data/noise.bin failed: ETIMEDOUT"),
        ({"blob": "data/noise.bin", "kind": "hang"}, "download of data/noise.bin failed: ETIMEDOUT"),
        ({"blob": "data/noise.bin", "kind": "trickle"}, "data/noise.bin too slow"),
    ):
        back_to_v1()  # nothing staged from the faults before
        n = len(SERVER.log()["downloads"])
        t = time.ticks_ms()
        fails(fault, why)
        took = time.ticks_diff(time.ticks_ms(), t)
        tries = len([d for d in downloads(n) if d[0] == R2["/" + fault["blob"]]])
        # permanent failures are not retried; the rest are, once (retries: 1)
        assert tries == (1 if fault["kind"] in ("404", "long") else 2), (fault, tries)
        assert took < 20000, "a slow server held the device %d ms" % took  # 2 tries of at most ~4.5 s
        if fault["kind"] == "corrupt":  # bytes that do not hash right are never kept
            assert R2["/" + fault["blob"]] not in [k.split(".")[0] for k in staged()], staged()
    n = len(SERVER.log()["downloads"])
    installs()  # what was staged intact is used: the device updates on its own
    assert [d for d in downloads(n) if d[0] == NOISE][0][2], "the trickled download did not resume"
    back_to_v1()


@test
def a_server_that_stops_answering_check_ins_changes_nothing():
    before = DEV.files()
    SERVER.offer("r2", hang=True)
    t = time.ticks_ms()
    boots = DEV.run()
    assert codes(boots) == [2] and "last check result: error" in output(boots), output(boots)
    assert "ETIMEDOUT" in output(boots), output(boots)
    assert time.ticks_diff(time.ticks_ms(), t) < 15000  # the headers' deadline is 3 x 2 s
    assert DEV.files() == before
    installs()


@test
def no_ram_to_load_a_stage_fails_the_update_and_says_why():
    # A board that cannot load the plan stage's code (ALOFT_SIM_NO_RAM_FOR): the update fails, the server is told why,
    # nothing is installed, and with the RAM back the next check installs it from what was downloaded.
    back_to_v1()
    SERVER.offer("r2")
    k = len(SERVER.log()["events"])
    boots = DEV.run(env="ALOFT_SIM_NO_RAM_FOR=aloft.plan ")
    assert codes(boots) == [2] and "last check result: failed" in output(boots), output(boots)
    assert DEV.app() == V1 and DEV.state("journal") is None
    got = [(e["type"], e.get("reason", "")) for e in SERVER.log()["events"][k:]]
    assert len(got) == 1 and got[0][0] == "failed" and got[0][1].startswith("no RAM to load the plan stage ("), got
    # before an update is offered there is nothing to report: the check is an error, as when the server is away
    k = len(SERVER.log()["events"])
    boots = DEV.run(env="ALOFT_SIM_NO_RAM_FOR=aloft.checkin ")
    assert codes(boots) == [2] and "last check result: error" in output(boots), output(boots)
    assert SERVER.log()["events"][k:] == []
    installs()


def comes_raw(mode):
    """r2 installs, with ALOFT_SIM_NO_RAM_TO_INFLATE=mode, as it would with the RAM: the first zlib answer of each
    download stage is dropped with nothing written, that blob and every later one are asked for raw."""
    back_to_v1()
    SERVER.offer("r2")
    n = len(SERVER.log()["downloads"])
    boots = DEV.run(env="ALOFT_SIM_NO_RAM_TO_INFLATE=%s " % mode)
    assert codes(boots) == [75, 75, 0], output(boots)
    assert DEV.app() == R2
    got = downloads(n)
    packed = [d[0] for d in got if d[1] == "zlib"]
    assert BIG in packed, got  # offered packed, once per download stage at most (the file list's, the files')
    assert output(boots).count("no RAM to inflate") == len(packed) <= 2, output(boots)
    for sha in packed:
        assert (sha, "raw", None, 200) in got, got  # then fetched raw, whole
    return boots


@test
def without_ram_for_the_inflater_the_blobs_come_raw():
    # A board whose inflater never fits: it fails at its first read, where it allocates its state and window.
    comes_raw("1")
    # a server that packs it anyway is not asked again and again
    back_to_v1()
    fails({"blob": "data/big.txt", "kind": "packed"}, "no RAM to inflate data/big.txt, and the server sends it packed unasked", "ALOFT_SIM_NO_RAM_TO_INFLATE=1 ")


@test
def the_real_inflater_without_ram_fails_cleanly_and_the_blobs_come_raw():
    # The deflate module itself, its first read in a heap with no free block left: MemoryError, nothing written.
    boots = comes_raw("fill")
    assert output(boots).count("the real inflater's first read found the heap full") == output(boots).count("no RAM to inflate")


@test
def without_ram_for_the_file_beside_the_inflater_the_blobs_come_raw():
    # The real inflater fits, and then the .part file it would inflate into does not (its buffer): nothing is written
    # yet either, so the same fallback.
    comes_raw("open")

try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
