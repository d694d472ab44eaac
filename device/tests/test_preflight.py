# Pre-flight checks on a simulated device against fake_server.py, before anything is downloaded:
# too little flash and a low battery are refused and reported and change nothing; the flash an
# update actually used at its peak stays within the bound the agent computed beforehand.
# (Incompatible boards and MicroPython versions: test_agent.py.)
from harness import run, tempdir, test
import os
from aloft import tree
from simulated import Device, Server, codes, output

TMP = tempdir("preflight")
SERVER = Server(TMP)
RELEASES = SERVER.releases()


def device(name, size, **settings):
    tree.makedirs(TMP + "/" + name)
    dev = Device(SERVER, TMP + "/" + name, size, **settings)
    SERVER.offer("r1")
    boots = dev.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    return dev


@test
def too_little_flash_is_refused_before_downloading():
    # 424K: room for the agent (62 files since the firmware step, 4 KiB each) and r1, not for r2
    dev = device("small", 424 * 1024)
    before = dev.files()
    n = len(SERVER.log()["downloads"])
    SERVER.offer("r2")  # 200 KB and 40 KB files to fetch
    boots = dev.run()
    assert codes(boots) == [2] and "last check result: failed" in output(boots), output(boots)
    e = SERVER.log()["events"][-1]
    assert e["type"] == "failed" and e["reason"].startswith("insufficient storage: need "), e
    need, free = [int(w) for w in e["reason"].split() if w.isdigit()]
    assert need > free > 0, e["reason"]
    print("     " + e["reason"])
    got = SERVER.log()["downloads"][n:]  # the file list alone: what the flash is checked against
    assert len(got) == 1 and got[0]["list"], got
    assert dict((p, h) for p, h in dev.files().items() if not p.startswith("/.aloft/stage/")) == before


@test
def a_flash_too_full_for_the_plan_itself_is_refused_as_such():
    # Less free flash than the plan needs to be written (the stage's folders, the plan): the first write that
    # finds the flash full stops the update, reported as insufficient storage like the pre-flight's refusal.
    from flashtool import open_image

    dev = device("full", 1024 * 1024)
    bd, vfs = open_image(dev.image)
    try:
        vfs.mkdir("/data")
        n = 0
        try:  # the flash filled by the app's own data, a block a file (a file LittleFS cannot close is dropped)
            while True:
                with vfs.open("/data/log%04d.bin" % n, "wb") as f:
                    f.write(bytes(4096))
                n += 1
        except OSError as e:
            assert e.errno == 28 and n > 0, (e, n)
    finally:
        bd.close()
    before = dev.files()
    SERVER.offer("r2")
    boots = dev.run()
    assert codes(boots) == [2] and "last check result: failed" in output(boots), output(boots)
    e = SERVER.log()["events"][-1]
    assert e["type"] == "failed" and e["reason"].startswith("insufficient storage: "), e
    print("     " + e["reason"])
    after = dev.files()
    assert dict((p, h) for p, h in after.items() if not p.startswith("/.aloft/")) == dict(
        (p, h) for p, h in before.items() if not p.startswith("/.aloft/")), "the app and the agent as they were"


@test
def a_low_battery_defers_the_update():
    dev = device("battery", 1024 * 1024, min_battery=20)
    before = dev.files()
    n = len(SERVER.log()["downloads"])
    SERVER.offer("r2")
    boots = dev.run(env="ALOFT_SIM_BATTERY=12 ")
    assert codes(boots) == [2] and "last check result: deferred" in output(boots), output(boots)
    e = SERVER.log()["events"][-1]
    assert (e["type"], e["sequence"], e["reason"]) == ("deferred", 2, "battery 12% is below 20%"), e
    assert len(SERVER.log()["downloads"]) == n and dev.files() == before
    boots = dev.run(env="ALOFT_SIM_BATTERY=20 ")  # charged enough: it goes ahead
    assert codes(boots) == [75, 75, 0] and dev.app() == RELEASES["r2"], output(boots)
    assert [e["type"] for e in SERVER.log()["events"][-3:]] == ["downloading", "installed", "confirmed"]


def peak_within_bound(dev, name, offer, cuts):
    # Offer release name to dev (saved as it is), boot it once through to count the install boot's block writes,
    # then cut that boot at each of cuts(writes) and look at the flash in use each time: the peak above what was
    # on flash before must not exceed what the agent asked for before downloading.
    dev.save(dev.tmp + "/before.img")
    base = dev.used()
    offer()
    code, out = dev.boot(env="ALOFT_SIM_CUT_AFTER_WRITES=0 ")
    assert code == 75, out
    writes = int(out.split("sim: ")[-1].split()[0])
    need = int(out.split("needs ")[1].split()[0])
    peak = 0
    for n in cuts(writes):
        dev.load(dev.tmp + "/before.img")
        code, _ = dev.boot(env="ALOFT_SIM_CUT_AFTER_WRITES=%d " % n)
        assert code == 137, code
        peak = max(peak, dev.used() - base)
    print("     %s: %d bytes in use at the peak beyond what was there, %d computed before (%d block writes)" % (
        name, peak, need, writes))
    assert 0 < peak <= need, (peak, need)


@test
def the_flash_an_update_uses_stays_within_the_computed_bound():
    # cuts at every 30th of the install boot's writes
    every = lambda writes: range(1, writes, max(writes // int(os.getenv("ALOFT_TEST_BOUND_CUTS") or 30), 1))
    peak_within_bound(device("bound", 1024 * 1024), "r2", lambda: SERVER.offer("r2"), every)


def many_files(n, size, seed):
    # n files of size incompressible bytes in one folder (a library of modules, a folder of assets)
    import shapes

    files = dict(("lib/many/m%04d.bin" % i, shapes.noise(size, seed + i)) for i in range(n))
    files["main.py"] = b"print('app many ok')\n"
    return files


@test
def a_folder_of_hundreds_of_files_is_refused_or_fits():
    # 400 files of 200 bytes (a block each) in one folder: their folder metadata alone takes tens of blocks
    # (each file's name and place, in the stage and then at its path). On a 2 MiB flash that does not fit
    # beside v1; the check must say so before downloading, never run out of flash during the install.
    SERVER.publish("many", "5.0.0", 5, many_files(400, 200, 100))
    dev = device("many", 2 * 1024 * 1024)
    v1 = dev.files()
    SERVER.post("/_ctl", {"release": "many"})
    boots = dev.run()
    out = output(boots)
    if codes(boots) == [75, 75, 0]:
        assert "app many ok" in out, out
        return
    assert codes(boots) == [2] and "insufficient storage" in out, out
    assert dict((p, h) for p, h in dev.files().items() if not p.startswith("/.aloft/stage/")) == v1
    print("     " + [l for l in out.splitlines() if "insufficient" in l][0])


@test
def the_flash_a_many_file_update_uses_stays_within_the_computed_bound():
    # The bound test above, for 250 files of 200 bytes in one folder on 4 MiB: cuts spread over the install
    # boot, from the last downloads (the stage at its fullest) to the end.
    SERVER.publish("many2", "6.0.0", 6, many_files(250, 200, 900))
    cuts = int(os.getenv("ALOFT_TEST_BOUND_CUTS") or 6)
    late = lambda writes: [writes // 2 + (writes // 2) * k // cuts for k in range(cuts)]
    offer = lambda: SERVER.post("/_ctl", {"release": "many2"})
    peak_within_bound(device("many2", 4 * 1024 * 1024), "many2", offer, late)


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
