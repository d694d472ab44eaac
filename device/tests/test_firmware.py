# Firmware updates end to end on simulated ESP32 boards (docs/firmware.md): the agent in this checkout against
# fake_server.py, on the simulator's ESP32 (device/sim: esp32.py over a NOR flash file, espboot.py's bootloader,
# images in the real app image format from espimage.py). A release with firmware goes firmware first (trial,
# confirmed), then files; a firmware that crashes, hangs, reports another version or whose main.py raises is rolled
# back and never taken again; every bad image is refused before set_boot() with the board untouched; two power cuts
# test_fwpowercut.py found (or could not reach) reproduced one at a time.
from harness import read, run, tempdir, test
import json
import os
import espimage
from aloft import tree
from simulated import Device, Server, booted, output

TMP = tempdir("fw")
SERVER = Server(TMP, lifetime=600)
HEAP = "160K"  # the simulated ESP32 keeps ~15K of its own beside the agent (device/sim/run.py)
OLD = {"main.py": b"import aloft\nprint('app 1 on', __import__('sys').implementation.version)\n", "lib/one.py": b"V = 1\n"}
NEW = {"main.py": b"import aloft, lib.two\nprint('app 2 on', __import__('sys').implementation.version)\n", "lib/two.py": b"V = 2\n"}
_seq = [10]


def image(micropython="1.26.0", size=65536, seed=1, **kv):
    kv.setdefault("build", "ESP32_GENERIC-OTA")
    return espimage.app("esp32", micropython=micropython, size=size, seed=seed, **kv)


def publish(files, firmware=(), micropython=None):
    """A new release of files with firmware [(image bytes, build, chip, micropython)]: (its name, its sequence)."""
    _seq[0] += 1
    name = "fw%d" % _seq[0]
    SERVER.publish(name, "%d.0.0" % _seq[0], _seq[0], files, micropython=micropython, firmware=firmware)
    return name, _seq[0]


def device(name, profile="esp32-ota", files=OLD, app=None, **settings):
    # MicroPython before 1.25 has no sys.implementation._build: config.json names the build, as provisioning writes it
    settings.setdefault("build", {"nano-esp32": "ARDUINO_NANO_ESP32", "esp32": "ESP32_GENERIC"}.get(profile, "ESP32_GENERIC-OTA"))
    tmp = TMP + "/" + name
    tree.rmtree(tmp)
    os.mkdir(tmp)
    SERVER.offer(None)
    d = Device(SERVER, tmp, files=dict(("/" + p, b) for p, b in files.items()), profile=profile, app=app, id=name, **settings)
    code, out = d.boot(HEAP)  # nothing offered: it settles on its firmware
    assert code == 0 and booted(out)[1] == "1.24.1", out
    return d


def events(name):
    return [(e["type"], e.get("step"), e.get("reason")) for e in SERVER.get("/_log?id=" + name)["events"]]


def checkins(name):
    return SERVER.get("/_log?id=" + name)["checkins"]


@test
def firmware_first_then_files():
    d = device("happy")
    first = checkins("happy")[-1]
    assert first["ota"] is True and first["build"] == "ESP32_GENERIC-OTA" and first["chip"] == "esp32", first
    assert first["slot"] == 0x180000 and first["running"] == "ota_0" and first["fw_state"] == "valid", first
    assert len(first["fw_sha256"]) == 64 and "rollback" not in first, first
    img = image()
    name, seq = publish(NEW, [(img, "ESP32_GENERIC-OTA", "esp32", "1.26.0")])
    SERVER.offer(name)
    boots = d.run(HEAP, boots=10)
    out = output(boots)
    assert booted(out) == ("ota_1", "1.26.0"), out
    assert [c for c, _ in boots][-1] == 0, out
    got = events("happy")
    want = [("downloading", "firmware", None), ("installed", "firmware", None), ("confirmed", "firmware", None),
            ("downloading", None, None), ("installed", None, None), ("confirmed", None, None)]
    assert [e for e in got if e[0] != "deferred"] == want, got
    assert "app 2 on (1, 26, 0" in out, out
    last = checkins("happy")[-1]
    assert last["rollback"] is True and last["fw_state"] == "valid" and last["running"] == "ota_1", last
    from binascii import hexlify
    from hashlib import sha256

    assert last["fw_sha256"] == hexlify(sha256(img).digest()).decode(), last
    assert last["sequence"] == seq, last
    assert d.state("fwstep.json") is None and d.state("firmware.json")["rollback"] is True




def files_of(files):
    from simulated import files_hashed

    return files_hashed(files)


def has(d, files):
    # The files of a release on d's flash (the files it was provisioned with stay beside the first release it installs).
    app = d.app()
    return all(app.get(p) == h for p, h in files_of(files).items())


def otadata(d):
    """The two otadata entries' 32 bytes and the vfs-free rest of what a firmware step may touch: read on the host."""
    with open(d.image, "rb") as f:
        f.seek(0xD000)
        a = f.read(32)
        f.seek(0xE000)
        return a + f.read(32)


def rolled_back(name, d, seq, reason, img):
    """d is back on its old firmware and files, and said why once."""
    from binascii import hexlify
    from hashlib import sha256

    out = output(d.run(HEAP, boots=10))
    assert booted(out) == ("ota_0", "1.24.1"), out
    assert d.app() == files_of(OLD), (d.app(), out)
    got = [e for e in events(name) if e[1] == "firmware"]
    assert [e[0] for e in got] == ["downloading", "installed", "rolled_back"], (got, out)
    assert reason in got[-1][2], (got, out)
    last = checkins(name)[-1]
    assert last["fw_rejected"] == hexlify(sha256(img).digest()).decode() and last["rejected"] == seq, last
    assert last["running"] == "ota_0" and last["fw_state"] == "valid", last
    assert d.state("fwstep.json") is None, d.state("fwstep.json")
    # The device takes the release no more, and the same image in a newer release neither.
    n = len(SERVER.log()["downloads"])
    again, _ = publish(NEW, [(img, "ESP32_GENERIC-OTA", "esp32", "1.26.0")])
    SERVER.offer(again)
    out = output(d.run(HEAP, boots=3))
    assert "rolled that firmware back before" in out and booted(out) == ("ota_0", "1.24.1"), out
    assert [x for x in SERVER.log()["downloads"][n:] if x["sha256"] == hexlify(sha256(img).digest()).decode()] == [], out
    return out


@test
def a_firmware_that_crashes_hangs_or_runs_another_micropython_is_rolled_back():
    for name, seed, kv, reason in (
        ("crash", 2, {"behaviour": "crash"}, "did not start the agent (it crashed or hung at boot); the bootloader rolled it back"),
        ("hang", 3, {"behaviour": "hang"}, "the bootloader rolled it back"),
        ("reports", 4, {"reports": "1.25.0"}, "the new firmware runs MicroPython 1.25.0, the release says 1.26.0"),
    ):
        d = device(name)
        img = image(seed=seed, **kv)
        rel, seq = publish(NEW, [(img, "ESP32_GENERIC-OTA", "esp32", "1.26.0")])
        SERVER.offer(rel)
        rolled_back(name, d, seq, reason, img)


BREAKS = {"main.py": b"import sys\nassert sys.implementation.version[:2] != (1, 26), 'app breaks on 1.26'\nprint('app 1')\n", "lib/one.py": b"V = 1\n"}


@test
def a_firmware_the_application_fails_on_is_rolled_back():
    d = device("appfails", files=BREAKS)
    img = image(seed=5)
    name, seq = publish(NEW, [(img, "ESP32_GENERIC-OTA", "esp32", "1.26.0")])
    SERVER.offer(name)
    global OLD
    old, OLD = OLD, BREAKS
    try:
        rolled_back("appfails", d, seq, "main.py raised AssertionError: app breaks on 1.26", img)
    finally:
        OLD = old


@test
def without_a_rollback_bootloader_the_agent_sets_the_old_slot_back():
    d = device("norollback", profile="esp32-ota-norollback", files=BREAKS)
    img = image(seed=6)
    name, seq = publish(NEW, [(img, "ESP32_GENERIC-OTA", "esp32", "1.26.0")])
    SERVER.offer(name)
    global OLD
    old, OLD = OLD, BREAKS
    try:
        out = rolled_back("norollback", d, seq, "main.py raised AssertionError: app breaks on 1.26", img)
    finally:
        OLD = old
    assert checkins("norollback")[-1]["rollback"] is False, checkins("norollback")[-1]


@test
def a_board_that_confirms_every_image_is_judged_by_the_agent():
    d = device("nano", profile="nano-esp32", files=BREAKS)
    img = espimage.app("esp32s3", build="ARDUINO_NANO_ESP32", micropython="1.26.0", size=65536, seed=7, auto_confirm=True)
    name, seq = publish(NEW, [(img, "ARDUINO_NANO_ESP32", "esp32s3", "1.26.0")])
    SERVER.offer(name)
    out = output(d.run(HEAP, boots=10))
    assert booted(out) == ("app0", "1.24.1"), out
    got = [e for e in events("nano") if e[1] == "firmware"]
    assert [e[0] for e in got] == ["downloading", "installed", "rolled_back"], (got, out)
    assert "app breaks on 1.26" in got[-1][2], got
    assert checkins("nano")[-1]["rollback"] is False and checkins("nano")[-1]["running"] == "app0", checkins("nano")[-1]
    # and one its application runs on goes through, confirmed by the agent's trial
    d = device("nanogood", profile="nano-esp32")
    name, seq = publish(NEW, [(img, "ARDUINO_NANO_ESP32", "esp32s3", "1.26.0")])
    SERVER.offer(name)
    out = output(d.run(HEAP, boots=10))
    assert booted(out) == ("app1", "1.26.0") and has(d, NEW), out
    got = [e[0] for e in events("nanogood")]
    assert got == ["downloading", "installed", "confirmed", "downloading", "installed", "confirmed"], got


def refused(name, d, reason, profile_slot=("ota_0", "1.24.1"), env=""):
    before = otadata(d)
    out = output(d.run(HEAP, env, boots=3))
    assert booted(out) == profile_slot, out
    got = [e for e in events(name) if e[1] == "firmware"]
    assert got and got[-1][0] == "failed" and reason in (got[-1][2] or ""), (got, out)
    assert "installed" not in [e[0] for e in got], got
    assert otadata(d) == before, "otadata changed"
    assert d.app() == files_of(OLD), d.app()
    assert d.state("fwstep.json") is None or d.state("fwstep.json")["state"] == "writing", d.state("fwstep.json")


@test
def bad_images_are_refused_before_set_boot():
    cases = [
        ("wrongchip", [(image(seed=9), "ESP32_GENERIC-OTA", "esp32s3", "1.26.0")], "the image is for esp32s3, this board is esp32", None),
        ("headerchip", [(espimage.app("esp32s3", build="ESP32_GENERIC-OTA", micropython="1.26.0", size=65536, seed=10), "ESP32_GENERIC-OTA", "esp32", "1.26.0")],
         "image is for chip id 9, this board is 0", None),
        ("fullflash", [(espimage.full_flash("esp32", image(seed=11)), "ESP32_GENERIC-OTA", "esp32", "1.26.0")], "no app descriptor at 0x20", None),
        ("truncated", [(image(seed=12), "ESP32_GENERIC-OTA", "esp32", "1.26.0")], "connection closed", {"blob": "<firmware>", "kind": "truncate"}),
        # a bit flipped on the way: the zlib stream breaks (the image compresses), or its SHA-256 does
        ("tampered", [(image(seed=13), "ESP32_GENERIC-OTA", "esp32", "1.26.0")], "download of the firmware failed: corrupt zlib data",
         {"blob": "<firmware>", "kind": "corrupt"}),
        ("toolarge", [(image(seed=14, size=0x180000 + 4096), "ESP32_GENERIC-OTA", "esp32", "1.26.0")], "is larger than the slot ota_1", None),
        ("downgrade", [(image("1.23.0", seed=15), "ESP32_GENERIC-OTA", "esp32", "1.23.0")], "a downgrade (MicroPython 1.24.1 to 1.23.0)", None),
    ]
    # the same bit flipped in bytes that come raw (a board without RAM to inflate asks for them so): the SHA-256 says
    cases.append(("tamperedraw", [(image(seed=19), "ESP32_GENERIC-OTA", "esp32", "1.26.0")], "sha256 mismatch for the firmware",
                  {"blob": "<firmware>", "kind": "corrupt"}))
    for name, fw, reason, fault in cases:
        d = device(name)
        rel, _ = publish(NEW, fw)
        SERVER.post("/_ctl", {"release": rel, "fault": fault})
        try:
            refused(name, d, reason, env="ALOFT_SIM_NO_RAM_TO_INFLATE=1 " if name == "tamperedraw" else "")
        finally:
            tree.rmtree(d.tmp)


@test
def a_board_without_an_ota_table_refuses_a_firmware_step():
    d = device("factory", profile="esp32")
    first = checkins("factory")[-1]
    assert first["ota"] is False and first["running"] == "factory" and "slot" not in first, first
    rel, _ = publish(NEW, [(image(build="ESP32_GENERIC", seed=16), "ESP32_GENERIC", "esp32", "1.26.0")])
    SERVER.post("/_ctl", {"release": rel, "step": "firmware"})  # a server that asks anyway
    refused("factory", d, "no OTA partition table", ("factory", "1.24.1"))


@test
def a_download_cut_by_resets_resumes_with_range():
    d = device("resume")
    img = image(size=256 * 1024, seed=17)
    name, seq = publish(NEW, [(img, "ESP32_GENERIC-OTA", "esp32", "1.26.0")])
    SERVER.offer(name)
    code, out = d.boot(HEAP, "ALOFT_SIM_CUT_AFTER_WRITES=400 ")
    assert code == 137 and "power cut" in out, out
    step = d.state("fwstep.json")
    assert step["state"] == "writing" and 0 < step["done"] < len(img) and step["done"] % 65536 == 0, step
    out = output(d.run(HEAP, boots=10))
    assert booted(out) == ("ota_1", "1.26.0") and has(d, NEW), (d.app(), out)
    from binascii import hexlify
    from hashlib import sha256

    sha = hexlify(sha256(img).digest()).decode()
    ranges = [x["range"] for x in SERVER.log()["downloads"] if x["sha256"] == sha]
    assert ranges[-1] == "bytes=%d-" % step["done"], ranges


@test
def a_slot_the_bootloader_cannot_start_is_set_back_and_never_marked():
    d = device("fallback")
    img = image(seed=18)
    name, seq = publish(NEW, [(img, "ESP32_GENERIC-OTA", "esp32", "1.26.0")])
    SERVER.offer(name)
    code, out = d.boot(HEAP)
    assert code == 75 and "booting it on trial" in out, out
    with open(d.image, "r+b") as f:  # the image in ota_1 damaged after set_boot(): its hash fails at load
        f.seek(0x190000 + 3000)
        b = f.read(1)
        f.seek(0x190000 + 3000)
        f.write(bytes([b[0] ^ 0x10]))
    rolled = output(d.run(HEAP, boots=3))
    assert booted(rolled) == ("ota_0", "1.24.1"), rolled
    got = [e for e in events("fallback") if e[1] == "firmware"]
    assert got[-1][0] == "rolled_back" and "could not start the new firmware" in got[-1][2], got
    # ota_0 is the boot slot again, valid: the next boots need no fallback
    out = output(d.run(HEAP, boots=2))
    assert "is not bootable" not in out and booted(out) == ("ota_0", "1.24.1"), out


def switched(name, seed):
    """A device that took a firmware step up to its reset into the new firmware; the flash saved then: its path."""
    d = device(name)
    rel, _ = publish(NEW, [(image(seed=seed), "ESP32_GENERIC-OTA", "esp32", "1.26.0")])
    SERVER.offer(rel)
    code, out = d.boot(HEAP)
    assert code == 75 and "booting it on trial" in out, out
    d.save(d.tmp + "/switched.img")
    return d, d.tmp + "/switched.img"


def cut_trial(d, saved, until):
    """The first power cut in the trial boot from the flash saved after which until() holds: its operation."""
    for n in range(1, 100):
        d.load(saved)
        code, out = d.boot(HEAP, "ALOFT_SIM_CUT_AFTER_WRITES=%d " % n)
        assert code == 137, out
        if until():
            return n
    raise AssertionError("no cut in the trial boot did")


@test
def a_cut_write_of_the_firmware_step_leaves_no_temporary_file():
    # (test_fwpowercut) a power cut in fwstep.json's write on the trial boot, its temp file written, the rename not: the
    # bootloader aborts the trial and the agent rolls back, and the temp file goes with the step
    d, saved = switched("cuttmp", 20)
    cut_trial(d, saved, lambda: "/.aloft/fwstep.json.tmp" in d.files())
    out = output(d.run(HEAP, boots=5))
    assert booted(out) == ("ota_0", "1.24.1") and "firmware 1.26.0 rolled back" in out, out
    left = [p for p in d.files() if p.endswith(".tmp")]
    assert left == [], left


@test
def a_cut_confirmation_is_tried_again_not_rolled_back():
    # (test_fwpowercut) the trial passed, fwstep.json says "confirming", and the power goes before
    # mark_app_valid_cancel_rollback() has erased the entry: still PENDING_VERIFY, the bootloader aborts it at the next
    # boot. That firmware did not fail: the agent switches to it again (as when the erase took the entry), and never
    # rejects it.
    d, saved = switched("cutconfirm", 21)
    n = cut_trial(d, saved, lambda: (d.state("fwstep.json") or {}).get("state") == "confirming")
    d.load(saved)  # otadata as the cut before left it: the trial's entry PENDING_VERIFY
    assert d.boot(HEAP, "ALOFT_SIM_CUT_AFTER_WRITES=%d " % (n - 1))[0] == 137
    with open(d.image, "rb") as f:
        f.seek(0xD000)
        pending = f.read(0x2000)
    d.load(saved)
    assert d.boot(HEAP, "ALOFT_SIM_CUT_AFTER_WRITES=%d " % n)[0] == 137
    with open(d.image, "r+b") as f:  # a cut before the erase's first byte (espflash.py tears an erase at N % 4 == 0 so)
        f.seek(0xD000)
        f.write(pending)
    e, a = d.otadata()
    assert e[a][0] == "ota_1" and e[a][2] == 1 and d.state("fwstep.json")["state"] == "confirming", (e, a)
    out = output(d.run(HEAP, boots=10))
    assert booted(out) == ("ota_1", "1.26.0") and has(d, NEW), out
    got = [e[0] for e in events("cutconfirm") if e[1] == "firmware"]
    assert "rolled_back" not in got and got[-1] == "confirmed", got
    assert "rejected" not in d.state("firmware.json"), d.state("firmware.json")


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
