# Power cuts in the firmware step (docs/firmware.md, "The agent's firmware step"), deterministic, on simulated ESP32
# boards: the simulated NOR flash counts every flash operation of a boot (each sector erased, each write; the
# bootloader's otadata writes, the agent's slot writes, LittleFS's blocks alike) and ALOFT_SIM_CUT_AFTER_WRITES=N tears
# the N-th and SIGKILLs the board (docs/firmware.md, "The simulator's ESP32"). Each phase below is one boot, its
# operations counted on a clean run first, then cut at seeded kill points spread over them; some first cuts get a second
# cut while the next boot recovers (cutplan.plan_cuts, as test_powercut.py does for the files):
#
#   fw           the firmware download and switch: fwstep.json, each 4 KiB block of the next slot erased and written,
#                progress saves, the read-back, "switching", set_boot()'s otadata write (an 80 KiB image, so the slot's
#                operations are cut densely)
#   fwtrial      the new firmware's first boot: the bootloader's NEW -> PENDING_VERIFY write, fwtrial's state writes,
#                the check-in's firmware facts, main.py on trial, mark_app_valid_cancel_rollback()'s erase and write,
#                the confirmation
#   files        the files step once the firmware is confirmed (download, journal, renames, commit)
#   filestrial   the files' trial boot and confirmation
#   crash        a firmware that crashes at boot: its boot (the bootloader's NEW -> PENDING_VERIFY write, both of its
#   crashback    operations) and the boot after it (PENDING_VERIFY -> ABORTED, the agent's rollback bookkeeping)
#   appfail      a firmware whose trial fails (old files' main.py raises on MicroPython 1.27): the trial boot (the
#   appback      agent's "rollback", the reset that lets the bootloader abort it) and the rolled-back boot after it
#   n..., a...   fw, fwtrial, appfail, appback on esp32-ota-norollback and nano-esp32, boards whose bootloader never
#                aborts a trial (no rollback; the Nano's board code confirms every image): the agent sets the old slot
#                back itself
#
# Every board starts on its profile's firmware (1.24.1 in ota_0, app0 on the Nano) with release P1 installed and
# confirmed. After every cut it boots on, untouched, until idle, and after every boot:
#   - it booted (no "sim: no bootable app" / exit 3, no write to the running slot / exit 138, no NOR violation), the old
#     firmware in its slot or the phase's new one in the other (the simulator's "sim: booting" line);
#   - its files are exactly P1 or exactly P2 (SHA-256 against the manifests, installed.json agreeing), never P2 under the
#     old firmware: the files step comes only after the firmware is confirmed (docs/firmware.md, first paragraph);
#   - otadata (read from the flash file) and fwstep.json agree: the new slot's entry is VALID only when the agent
#     confirmed it (fwstep.json gone, or "confirming": mark_app_valid_cancel_rollback() was called) or the board's
#     own code did (the Nano); PENDING_VERIFY, NEW or UNDEFINED only while fwstep.json says the step is past set_boot();
#     the old slot's entry is VALID unless the agent is setting it back ("rollback");
# (after a cut boot, only the otadata rules and the slot it booted: its files may be mid-install), and once idle:
#   - the slot it runs is the active entry, VALID; no fwstep.json, journal, trial record, #old/#new, *.tmp, outbox or
#     stage is left; firmware.json knows the image it runs;
#   - it ends where this phase must end:
#       update phases: the new firmware with P2; except when the cut left the new firmware's entry PENDING_VERIFY (or
#       ABORTED) before the agent began to confirm it: a reset during a trial that is not confirmed is a failed trial,
#       the bootloader aborts it (R1.6; docs/firmware.md, "Next boot ... the bootloader rolled back (an ABORTED/INVALID
#       entry for the new slot)"), so the old firmware with P1, the image rejected and rolled_back reported. A cut in
#       the confirmation itself (fwstep.json "confirming") is not a failed trial: the old firmware boots again (the
#       active entry's sector erased, or the entry still PENDING_VERIFY and aborted) and the agent switches again, as
#       it does when set_boot() never took effect ("the step goes back to written"), and ends on the new firmware;
#       rollback phases: the old firmware with P1, the image rejected (firmware.json) and its release's sequence
#       (installed.json), rolled_back reported; neither firmware ever runs P2.
#
#   micropython test_fwpowercut.py          the suite, on two worker processes
#   ALOFT_TEST_CUT_WORKERS=N                how many workers (default 2)
#   ALOFT_TEST_CUT_SEED=N, ALOFT_TEST_CUT_SCALE=N   other kill points, or more (see ORDER)
#   ALOFT_TEST_CUT_PHASES=fw,fwtrial        those phases alone (no total of kill points asked for)
from harness import HERE, run, tempdir, test
import os
import sys
import time
import cutplan
import espimage
from aloft import tree
from cutplan import cut_env, operations, plan_cuts, rng, run_workers, which, worker
from simulated import Device, Server, booted

WORKERS = int(os.getenv("ALOFT_TEST_CUT_WORKERS") or 2)
SEED = int(os.getenv("ALOFT_TEST_CUT_SEED") or 2026)
SCALE = int(os.getenv("ALOFT_TEST_CUT_SCALE") or 1)
HEAP = "160K"  # as test_firmware.py: the simulated ESP32 keeps ~15K of its own beside the agent
SIZE = 80 * 1024
PENDING, VALID, ABORTED = 1, 2, 4  # otadata states (R1.6)
PAST_SET_BOOT = ("switching", "trial", "confirming", "rollback")

# The old files break on MicroPython 1.27 (its trial fails in main.py); on 1.24.1 and 1.26.0 they run.
P1 = dict(cutplan.P1, **{"main.py": cutplan.app(31, ["lib.a", "lib.b"], breaks_on="1.27")})
P2 = cutplan.P2
GENERIC, NANO = ("esp32", "ESP32_GENERIC-OTA"), ("esp32s3", "ARDUINO_NANO_ESP32")
SEQUENCE = {"p1": 31, "p2": 32, "p3": 33, "p4": 34}
# board -> (profile, the release it is offered after P1); each board is a device of its own (fwcut-<board>)
BOARDS = {
    "u": ("esp32-ota", "p2"),
    "c": ("esp32-ota", "p3"),
    "f": ("esp32-ota", "p4"),
    "n": ("esp32-ota-norollback", "p2"),
    "nf": ("esp32-ota-norollback", "p4"),
    "a": ("nano-esp32", "p2"),
    "af": ("nano-esp32", "p4"),
}
# (phase, board, the saved flash its boot starts from, kill points, of them with a second cut); ALOFT_TEST_CUT_SCALE=N
# asks for N times as many (a phase has at most one per flash operation: fwtrial and crash get all of theirs)
ORDER = (
    ("fw", "u", "u0", 100, 15),
    ("fwtrial", "u", "u1", 45, 10),
    ("files", "u", "u2", 60, 8),
    ("filestrial", "u", "u3", 20, 0),
    ("crash", "c", "c1", 2, 0),
    ("crashback", "c", "c2", 30, 6),
    ("appfail", "f", "f1", 30, 5),
    ("appback", "f", "f2", 25, 0),
    ("nfw", "n", "n0", 20, 3),
    ("nfwtrial", "n", "n1", 15, 2),
    ("nappfail", "nf", "nf1", 12, 2),
    ("nappback", "nf", "nf2", 10, 0),
    ("afw", "a", "a0", 20, 3),
    ("afwtrial", "a", "a1", 15, 2),
    ("aappfail", "af", "af1", 12, 2),
    ("aappback", "af", "af2", 10, 0),
)
ONLY = os.getenv("ALOFT_TEST_CUT_PHASES")
ORDER = tuple(p for p in ORDER if not ONLY or p[0] in ONLY.split(","))
PHASES = dict((p[0], p[1:]) for p in ORDER)


def build_of(profile):
    return NANO[1] if profile == "nano-esp32" else GENERIC[1]


def slots(profile):
    return ("app0", "app1") if profile == "nano-esp32" else ("ota_0", "ota_1")


def facts(board):
    """What the workers check a board against: its slots and firmwares, the new image's SHA-256, the release."""
    from binascii import hexlify
    from hashlib import sha256

    profile, rel = BOARDS[board]
    img, _, _, version = [x for x in IMAGES[rel] if x[1] == build_of(profile)][0]
    old, new = slots(profile)
    return {
        "old": [old, "1.24.1"],
        "new": [new, version],
        "sha": hexlify(sha256(img).digest()).decode(),
        "seq": SEQUENCE[rel],
        "rollback": rel != "p2",  # the phases of this board end on the old firmware
        "auto": profile == "nano-esp32",  # its board code marks every image valid (docs/firmware.md, "Profiles")
        "breaks": "app 31 breaks on 1.27" if rel == "p4" else None,
    }


# --- the workers' side: one kill point, then the boots until idle, each judged


def otadata_says(dev, f):
    """Why otadata and fwstep.json disagree after a boot (the rules in the header), or None."""
    e, a = dev.otadata()
    step = dev.state("fwstep.json")
    st = step.get("state") if step else None
    if a < 0:
        return "neither otadata entry is valid: %r" % (e,)
    label, seq, state = e[a]
    if label == f["new"][0]:
        if state == VALID:
            if st not in (None, "confirming") and not (f["auto"] and st in PAST_SET_BOOT):
                return "the new firmware's entry (seq %d) is VALID but the agent did not confirm it: fwstep.json %r" % (seq, step)
        elif st not in PAST_SET_BOOT:
            return "the new firmware's entry (seq %d) is in state %d but fwstep.json is %r" % (seq, state, step)
    elif label == f["old"][0]:
        if state != VALID and st != "rollback":
            return "the old firmware's entry (seq %d) is in state %d with fwstep.json %r" % (seq, state, step)
    else:
        return "otadata selects %s" % label
    return None


def broken(code, out):
    """Why a boot did not boot a firmware as a board would (simulator errors included), or None."""
    if code == 3 or "sim: no bootable app" in out:
        return "nothing bootable"
    if code == 138 or "sim: write to the running slot" in out:
        return "the agent wrote to the running slot"
    if "NOR violation" in out:
        return "a write to flash that was not erased"
    return None


def doomed(dev, f):
    """Whether the last cut left the new firmware's trial failed: its entry PENDING_VERIFY (the bootloader aborts it at
    the next boot) or ABORTED, before the agent began to confirm it."""
    step = dev.state("fwstep.json")
    if step and step.get("state") == "confirming":
        return False
    e, _ = dev.otadata()
    return any(label == f["new"][0] and state in (PENDING, ABORTED) for label, _, state in e)


def look(dev, f, releases, boot, code, out):
    """(outcome, why) when boot's result breaks a rule, else (files release, firmware booted)."""
    why = broken(code, out)
    if why:
        return ("unbootable", "boot %d exit %d: %s:\n%s" % (boot, code, why, out)), None
    fw = booted(out)
    if fw is None:
        return ("unbootable", "boot %d exit %d booted nothing:\n%s" % (boot, code, out)), None
    fw = list(fw)
    if fw not in (f["old"], f["new"]):
        return ("wrong", "boot %d booted %s, neither %s nor %s" % (boot, fw, f["old"], f["new"])), None
    on = which(releases, dev.app())
    if on is None:
        return ("mixed", "boot %d left %s; it printed:\n%s" % (boot, sorted(dev.app()), out)), None
    have = dev.state("installed.json")
    if have["sequence"] != (31 if on == "p1" else f["seq"]):
        return ("mixed", "boot %d: installed.json says %s, the files are %s" % (boot, have, on)), None
    if fw == f["old"] and on == "p2":
        return ("wrong", "boot %d: the old firmware runs the new files" % boot), None
    if "Traceback" in out and not (f["breaks"] and f["breaks"] in out) or code not in (0, 75):
        return ("unbootable", "boot %d exit %d:\n%s" % (boot, code, out)), None
    why = otadata_says(dev, f)
    if why:
        return ("wrong", "boot %d: %s" % (boot, why)), None
    return None, (on, fw)


def idle_left(dev):
    """What an idle device must not have left on flash."""
    left = dev.side_files() + [p for p in dev.files() if p.endswith(".tmp") or p.startswith("/.aloft/stage/")]
    for name in ("fwstep.json", "journal", "trial.json", "outbox.json"):
        if dev.state(name) is not None:
            left.append(name)
    return left


def settle(dev, f, releases, doom):
    """Boot until idle after the cuts; the outcome of one kill point: "old" or "new" (the firmware it ended on), or
    what went wrong and why."""
    seen_app = False
    for boot in range(12):
        code, out = dev.boot(HEAP)
        bad, now = look(dev, f, releases, boot, code, out)
        if bad:
            return bad
        if "app 31 ok" in out or "app 32 ok" in out:
            seen_app = True
        if code == 0:
            break
    else:
        return "unbootable", "not idle after 12 boots"
    on, fw = now
    if not seen_app:
        return "unbootable", "main.py never ran"
    end = "old" if f["rollback"] or doom else "new"
    want = (f["old"], "p1") if end == "old" else (f["new"], "p2")
    if (fw, on) != want:
        return "wrong", "ended on firmware %s with %s, expected %s with %s%s" % (fw, on, want[0], want[1], " (the cut left its trial failed)" if doom else "")
    e, a = dev.otadata()
    if e[a][0] != fw[0] or e[a][2] != VALID:
        return "wrong", "idle on %s, but otadata's active entry is %r" % (fw[0], e[a])
    left = idle_left(dev)
    if left:
        return "wrong", "idle, but left %s" % left
    known = dev.state("firmware.json")
    have = dev.state("installed.json")
    if end == "new" and known.get("sha256") != f["sha"]:
        return "wrong", "idle on the new firmware, firmware.json says %r" % known
    if end == "old" and (known.get("rejected") != f["sha"] or have.get("rejected") != f["seq"]):
        return "wrong", "rolled back, but firmware.json says %r and installed.json %r" % (known, have)
    return end, None


def cut(dev, plan, point):
    """One kill point (a worker's): [phase, n, m, cuts that came, outcome, why]."""
    phase, start, n, m = point
    f = plan["facts"][PHASES[phase][0]]
    releases = plan["releases"]
    dev.load(plan["images"][start])
    cuts = 0
    for k in (n, m) if m else (n,):
        code, out = dev.boot(HEAP, cut_env(k))
        if code != 137:  # it ran to its end before operation k: judged as any boot, and settle() goes on from it
            bad, _ = look(dev, f, releases, -1, code, out)
            if bad:
                return [phase, n, m, cuts] + list(bad)
            break
        cuts += 1
        why = broken(code, out)
        if why:
            return [phase, n, m, cuts, "unbootable", "cut %d: %s:\n%s" % (k, why, out)]
        fw = booted(out)
        why = fw and list(fw) not in (f["old"], f["new"]) and "booted %s" % (fw,) or otadata_says(dev, f)
        if why:
            return [phase, n, m, cuts, "wrong", "cut %d: %s:\n%s" % (k, why, out)]
    outcome, why = settle(dev, f, releases, cuts > 0 and doomed(dev, f))
    return [phase, n, m, cuts, outcome, why]


if worker(sys.argv, cut):
    sys.exit(0)


# --- the suite: boards made, each phase's boot counted, the kill points tried by the workers, the tally


def image(chip, build, micropython, seed, **kv):
    return espimage.app(chip, build, micropython, size=SIZE, seed=seed, **kv)


IMAGES = {  # release -> [(image, build, chip, micropython)]
    "p2": [(image(*GENERIC, "1.26.0", 21), GENERIC[1], "esp32", "1.26.0"), (image(*NANO, "1.26.0", 22, auto_confirm=True), NANO[1], "esp32s3", "1.26.0")],
    "p3": [(image(*GENERIC, "1.26.0", 23, behaviour="crash"), GENERIC[1], "esp32", "1.26.0")],
    "p4": [(image(*GENERIC, "1.27.0", 24), GENERIC[1], "esp32", "1.27.0"), (image(*NANO, "1.27.0", 25, auto_confirm=True), NANO[1], "esp32s3", "1.27.0")],
}
TMP = tempdir("fwpowercut")
SERVER = Server(TMP, lifetime=900)
IMAGES_AT = {}  # the saved flash a phase starts from -> its file


def make(board):
    """A device, fwcut-<board>, on its profile's firmware with P1 installed and confirmed."""
    profile = BOARDS[board][0]
    tree.makedirs(TMP + "/" + board)
    dev = Device(SERVER, TMP + "/" + board, profile=profile, id="fwcut-" + board, build=build_of(profile), retries=1, confirm_wait=1)
    offer(board, "p1")
    boots = dev.run(HEAP)
    assert [c for c, _ in boots] == [75, 75, 0] and dev.app() == RELEASES["p1"], boots
    return dev


def offer(board, release):
    SERVER.post("/_ctl", {"device": "fwcut-" + board, "release": release})


def step(dev, says, code=75):
    """One boot on a clean run, which must end with code and print every line of says: its flash operations."""
    got, out = dev.boot(HEAP, cut_env(0))
    assert got == code and all(line in out for line in says) and not broken(got, out), out
    return operations(out)


def save(dev, name):
    IMAGES_AT[name] = TMP + "/" + name + ".img"
    dev.save(IMAGES_AT[name])


@test
def power_cuts_in_the_firmware_step_leave_a_board_that_boots_old_or_new():
    t0 = time.ticks_ms()
    counts = {}
    switch = ["booting it on trial"]
    # the update: the firmware, its trial, then the files and theirs (all four boots on esp32-ota; the firmware's two
    # on the boards without a bootloader rollback)
    need = set(p[1] for p in ORDER)
    for board, pre in (("u", ""), ("n", "n"), ("a", "a")):
        if board not in need:
            continue
        dev = make(board)
        save(dev, board + "0")
        offer(board, "p2")
        counts[pre + "fw"] = step(dev, switch)
        save(dev, board + "1")
        counts[pre + "fwtrial"] = step(dev, ["firmware 1.26.0 on trial", "firmware 1.26.0 confirmed"])
        save(dev, board + "2")
        if board == "u":
            counts["files"] = step(dev, ["installed 32.0.0"])
            save(dev, "u3")
            counts["filestrial"] = step(dev, ["32.0.0 confirmed", "app 32 ok"])
        boots = dev.run(HEAP)
        assert booted(boots[-1][1]) == (slots(BOARDS[board][0])[1], "1.26.0") and dev.app() == RELEASES["p2"], boots
    if "c" in need:  # a firmware that crashes at boot
        dev = make("c")
        offer("c", "p3")
        step(dev, switch)
        save(dev, "c1")
        counts["crash"] = step(dev, ["firmware crashed at boot"])
        save(dev, "c2")
        counts["crashback"] = step(dev, ["rolled back: the new firmware did not start the agent"], 0)
    # a firmware the old files' main.py fails on
    for board, pre in (("f", ""), ("nf", "n"), ("af", "a")):
        if board not in need:
            continue
        dev = make(board)
        offer(board, "p4")
        step(dev, switch)
        save(dev, board + "1")
        counts[pre + "appfail"] = step(dev, ["failed its trial: main.py raised AssertionError: app 31 breaks on 1.27"])
        save(dev, board + "2")
        counts[pre + "appback"] = step(dev, ["firmware 1.27.0 rolled back"], 0)
        assert dev.app() == RELEASES["p1"]
    print("     flash operations: " + ", ".join("%s %d" % (p[0], counts[p[0]]) for p in ORDER))

    rand = rng(SEED)
    points = []
    for phase, board, start, count, recovery in ORDER:
        plan_cuts(points, phase, start, counts[phase], count * SCALE, rand, recovery * SCALE)
    plan = {
        "releases": {"p1": RELEASES["p1"], "p2": RELEASES["p2"]},
        "facts": dict((board, facts(board)) for board in BOARDS),
        "images": IMAGES_AT,
        "points": points,
    }
    results = run_workers(HERE + "/" + sys.argv[0].rsplit("/", 1)[-1], plan, TMP, WORKERS, time.ticks_add(t0, 600000 * SCALE))

    tally = {}
    cuts = 0
    for phase, n, m, c, outcome, why in results:
        cuts += c
        tally[(phase, outcome)] = tally.get((phase, outcome), 0) + 1
        if why:
            print("     %s cut at operation %d (then %d): %s: %s" % (phase, n, m, outcome, why))
    for phase in [p[0] for p in ORDER]:
        mine = [r for r in results if r[0] == phase]
        print(
            "     %-10s %3d kill points over %4d flash operations, %2d second cuts: ended old %3d, new %3d; mixed %d, unbootable %d, wrong %d"
            % (phase, len([r for r in mine if r[3]]), counts[phase], len([r for r in mine if r[3] == 2]),
               tally.get((phase, "old"), 0), tally.get((phase, "new"), 0), tally.get((phase, "mixed"), 0), tally.get((phase, "unbootable"), 0), tally.get((phase, "wrong"), 0))
        )
    count = lambda outcome: sum(v for (_, o), v in tally.items() if o == outcome)
    print("     %d cuts at %d kill points; ended old %d, new %d; mixed %d, unbootable %d, wrong %d; %d s on %d workers"
          % (cuts, len([r for r in results if r[3]]), count("old"), count("new"), count("mixed"), count("unbootable"), count("wrong"),
             time.ticks_diff(time.ticks_ms(), t0) // 1000, WORKERS))
    assert count("mixed") == 0 and count("unbootable") == 0 and count("wrong") == 0, tally
    assert ONLY or len([r for r in results if r[3]]) >= 300, cuts
    # every rollback was reported: a rolled_back of the firmware step for each kill point that ended on the old firmware
    for board in need:
        rolled = SERVER.get("/_log?id=fwcut-%s&type=rolled_back" % board)["events"]
        assert all(e.get("step") == "firmware" and e["sequence"] == SEQUENCE[BOARDS[board][1]] for e in rolled), rolled
        assert len(rolled) >= len([r for r in results if PHASES[r[0]][0] == board and r[4] == "old"]), (board, len(rolled))


try:
    RELEASES = {}
    SERVER.publish("p1", "31.0.0", 31, P1)
    for rel in ("p2", "p3", "p4"):
        SERVER.publish(rel, "%d.0.0" % SEQUENCE[rel], SEQUENCE[rel], P2, firmware=IMAGES[rel])
    RELEASES = SERVER.releases()
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
