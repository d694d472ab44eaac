# Power cuts, deterministic: the simulated flash SIGKILLs the device at its N-th block write, after
# tearing that write (sim/blockdev.py, ALOFT_SIM_CUT_AFTER_WRITES). Kill points are spread over a
# whole v1 -> v2 update (downloads, between files, the journal, the renames, the commit, the trial
# boot and its confirmation), over boot-time recovery (a second cut while recovering from the
# first), over the rollback of a release whose main.py raises, and over an update of the agent
# itself (its install, its trial boot under the previous agent, the rollback of an agent that does
# not import). After every cut the device boots on, untouched, until it is idle, and after every one
# of those boots the files on flash must be exactly one release (checked by hash against the
# manifests; the agent's files too when a release carries the agent), main.py must have run, and
# the device must end on the new release (on the old one, with rolled_back reported, for the rollbacks).
#
#   micropython test_powercut.py            the suite, on two worker processes
#   ALOFT_TEST_CUT_WORKERS=N                how many workers (default 2)
#   ALOFT_TEST_CUT_SEED=N, ALOFT_TEST_CUT_SCALE=N   other kill points, or more (see PLAN)
from harness import DEVICE, run, tempdir, test
import os
import sys
import time
from aloft import tree
from cutplan import P1, P2, cut_env, operations, plan_cuts, rng, run_workers, which, worker
from simulated import Device, Server, checkout_agent

WORKERS = int(os.getenv("ALOFT_TEST_CUT_WORKERS") or 2)
SEED = int(os.getenv("ALOFT_TEST_CUT_SEED") or 2026)
# kill points per phase: the install boot, the trial boot, the rollback boot, recovery (second cuts);
# ALOFT_TEST_CUT_SCALE=N asks for N times as many (a phase has at most one per block write)
SCALE = int(os.getenv("ALOFT_TEST_CUT_SCALE") or 1)
PLAN = {"install": 130 * SCALE, "trial": 40 * SCALE, "rollback": 45 * SCALE, "recovery": 35 * SCALE}
# and over an update of the agent itself: its install, its trial boot, the rollback of an agent that
# does not import (the previous agent judges it), recovery from those
PLAN.update({"agent": 40 * SCALE, "agenttrial": 25 * SCALE, "agentback": 25 * SCALE, "agentrecovery": 15 * SCALE})

SEQUENCE = {"p1": 31, "p2": 32, "p2a": 32, "p3": 33, "p4": 34, "p5": 35}  # p2a: p2 and the provisioned agent
P3 = dict(P2, **{"main.py": b"import lib.a\nprint('app 33 starts')\nraise RuntimeError('bad release %d' % lib.a.V)\n"})


def agent(version, broken=False):
    """This checkout's agent, reporting version, with http.py changed and a module added (so the install
    replaces, adds and keeps agent files); broken: its __init__.py raises."""
    edit = {"http.py": lambda b: b + b"# " + version.encode() + b"\n"}
    if broken:
        edit["__init__.py"] = lambda b: b + b"raise ImportError('broken agent')\n"
    return checkout_agent(version, edit, {"extra.py": b"EXTRA = 1\n"})


P4 = dict(P2, **agent("9.4.0"))
P4["main.py"] = b"import lib.a, aloft\nassert aloft.VERSION == '9.4.0'\nprint('app 34 ok')\n"
P5 = dict(P2, **agent("9.5.0", broken=True))
P5["main.py"] = b"print('app 35 ok')\n"


def view(dev, kind):
    """The files a release is checked by: its own, and for an update of the agent the agent's too."""
    return dev.app_and_agent() if kind.startswith("agent") else dev.app()


def settle(releases, dev, kind):
    """Boot until idle after a cut; the outcome of one kill point."""
    seen_app = False
    for boot in range(8):
        code, out = dev.boot()
        on = which(releases, view(dev, kind))
        if on is None:  # what the boot printed says why its recovery did not finish
            return "mixed", "boot %d after the cut left %s; it printed:\n%s" % (boot, sorted(view(dev, kind)), out)
        if dev.state("installed.json")["sequence"] != SEQUENCE[on]:
            return "mixed", "boot %d: installed.json says %s, the files are %s" % (boot, dev.state("installed.json"), on)
        expected = "app 33 starts" in out or "the new agent failed: ImportError: broken agent" in out
        if "Traceback" in out and not expected or code not in (0, 75):
            return "unbootable", "boot %d exit %d:\n%s" % (boot, code, out)
        if "app 31 ok" in out or "app 32 ok" in out or "app 34 ok" in out:
            seen_app = True
        if code == 0:
            break
    else:
        return "unbootable", "not idle after 8 boots"
    if not seen_app:
        return "unbootable", "main.py never ran"
    want = {"rollback": "p1", "agent": "p4", "agenttrial": "p4", "agentback": "p2a"}.get(kind, "p2")
    if on != want:
        return "wrong", "ended on %s, expected %s" % (on, want)
    if dev.side_files() or dev.state("journal") or dev.state("trial.json"):
        return "wrong", "idle, but left %s" % (dev.side_files() or "a journal or trial record")
    return on, None


def kill(dev, n):
    """Boot with a cut at block write n: True if it came (else the boot ran to its end)."""
    code, out = dev.boot(env=cut_env(n))
    return code == 137


def cut(dev, plan, point):
    """One kill point (a worker's): [kind, n, m, cuts that came, outcome, why]."""
    kind, start, n, m = point
    pair = {"rollback": ("p1", "p3"), "agent": ("p2a", "p4"), "agenttrial": ("p2a", "p4"), "agentback": ("p2a", "p5")}
    releases = dict((k, plan["releases"][k]) for k in pair.get(kind, ("p1", "p2")))
    dev.load(plan["images"][start])
    cuts = 0
    outcome = why = None
    if kill(dev, n):
        cuts += 1
        if m:  # a second cut, while recovering from the first
            if kill(dev, m):
                cuts += 1
            elif which(releases, view(dev, kind)) is None:  # it recovered before write m
                outcome, why = "mixed", "the recovery boot left %s" % sorted(view(dev, kind))
    if outcome is None:
        outcome, why = settle(releases, dev, kind)
    return [kind, n, m, cuts, outcome, why]


if worker(sys.argv, cut):
    sys.exit(0)


TMP = tempdir("powercut")
SERVER = Server(TMP, lifetime=900)
SERVER.publish("p1", "31.0.0", 31, P1)
SERVER.publish("p2", "32.0.0", 32, P2)
SERVER.publish("p3", "33.0.0", 33, P3)
SERVER.publish("p4", "34.0.0", 34, P4)
SERVER.publish("p5", "35.0.0", 35, P5)
RELEASES = SERVER.releases()
SETTINGS = {"retries": 1, "confirm_wait": 1}


def make(name, installed, size=640 * 1024):
    """A device, cut-<name>, with each release of installed installed and confirmed in turn (640 KiB: the agent's 61
    files, P1, and P2 beside it while it installs)."""
    tree.makedirs(TMP + "/" + name)
    dev = Device(SERVER, TMP + "/" + name, size, id="cut-" + name, **SETTINGS)
    dev.name = name
    for release in installed:
        offer(dev, release)
        assert [c for c, _ in dev.run()] == [75, 75, 0], release
    return dev


def offer(dev, release):
    SERVER.post("/_ctl", {"device": "cut-" + dev.name, "release": release})


def counted(dev):
    code, out = dev.boot(env=cut_env(0))
    return code, operations(out), out


def step(dev, says, code=75):
    """One boot on a clean run, which must end with code and print every line of says: its block writes."""
    got, writes, out = counted(dev)
    assert got == code and all(line in out for line in says), out
    return writes


def save(dev, images, name):
    images[name] = TMP + "/" + name + ".img"
    dev.save(images[name])


@test
def power_cuts_anywhere_leave_exactly_one_release():
    t0 = time.ticks_ms()
    images = {}
    points = []
    rand = rng(SEED)
    # the update, v1 -> v2: every boot counted on a clean run
    dev = make("u", ["p1"])
    assert dev.app() == RELEASES["p1"]
    save(dev, images, "u0")
    offer(dev, "p2")
    w_install = step(dev, ["installed 32.0.0"])
    save(dev, images, "u1")
    w_trial = step(dev, ["32.0.0 confirmed", "app 32 ok"])
    w_idle = step(dev, [], 0)
    assert dev.app() == RELEASES["p2"]
    # the rollback: a release whose main.py raises, on top of v1
    dev = make("r", ["p1"])
    offer(dev, "p3")
    step(dev, ["installed 33.0.0"])
    save(dev, images, "r1")
    w_rollback = step(dev, ["rolling back 33.0.0: main.py raised RuntimeError: bad release 32"])
    # an update of the agent, v2 -> v4 (and its trial boot); the rollback of v5, whose agent does not import
    # (1 MiB flash: room for the agent's copy and a new agent beside the release)
    dev = make("a", ["p1", "p2"], 1024 * 1024)
    provisioned = dev.agent()
    assert dev.app_and_agent() == dict(RELEASES["p2"], **provisioned)
    save(dev, images, "a0")
    offer(dev, "p4")
    w_agent = step(dev, ["installed 34.0.0"])
    save(dev, images, "a1")
    w_agenttrial = step(dev, ["34.0.0 confirmed", "app 34 ok"])
    dev = make("b", ["p1", "p2"], 1024 * 1024)  # a device of its own: each device is offered one release
    assert dev.agent() == provisioned
    offer(dev, "p5")
    step(dev, ["installed 35.0.0"])
    save(dev, images, "b1")
    w_agentback = step(dev, ["rolling back 35.0.0: the new agent failed: ImportError: broken agent"])
    print(
        "     block writes: install boot %d, trial boot %d, idle boot %d, rollback boot %d; agent install %d, agent trial %d, agent rollback %d"
        % (w_install, w_trial, w_idle, w_rollback, w_agent, w_agenttrial, w_agentback)
    )

    plan_cuts(points, "install", "u0", w_install, PLAN["install"], rand, PLAN["recovery"])
    plan_cuts(points, "trial", "u1", w_trial, PLAN["trial"], rand)
    plan_cuts(points, "rollback", "r1", w_rollback, PLAN["rollback"], rand)
    plan_cuts(points, "agent", "a0", w_agent, PLAN["agent"], rand, PLAN["agentrecovery"])
    plan_cuts(points, "agenttrial", "a1", w_agenttrial, PLAN["agenttrial"], rand)
    plan_cuts(points, "agentback", "b1", w_agentback, PLAN["agentback"], rand)

    plan = {
        "releases": {
            "p1": RELEASES["p1"],
            "p2": RELEASES["p2"],
            "p2a": dict(RELEASES["p2"], **provisioned),
            "p3": RELEASES["p3"],
            "p4": RELEASES["p4"],
            "p5": RELEASES["p5"],
        },
        "images": images,
        "points": points,
    }
    results = run_workers(DEVICE + "/tests/test_powercut.py", plan, TMP, WORKERS, time.ticks_add(t0, 600000 * SCALE))

    tally = {}
    cuts = 0
    for kind, n, m, c, outcome, why in results:
        cuts += c
        key = (kind, outcome)
        tally[key] = tally.get(key, 0) + 1
        if why:
            print("     %s cut at write %d (then %d): %s: %s" % (kind, n, m, outcome, why))
    count = lambda outcome: sum(v for (k, o), v in tally.items() if o == outcome)
    phase = lambda kind: len([r for r in results if r[0] == kind and r[3]])
    print(
        "     kill points tried: %d (install %d, trial %d, rollback %d, agent install %d, agent trial %d, agent rollback %d, "
        "second cuts during recovery %d); ended old %d, ended new %d, mixed %d, unbootable %d, wrong end %d; %d s on %d workers"
        % (
            cuts,
            phase("install"),
            phase("trial"),
            phase("rollback"),
            phase("agent"),
            phase("agenttrial"),
            phase("agentback"),
            len([r for r in results if r[3] == 2]),
            count("p1") + count("p2a"),
            count("p2") + count("p4"),
            count("mixed"),
            count("unbootable"),
            count("wrong"),
            time.ticks_diff(time.ticks_ms(), t0) // 1000,
            WORKERS,
        )
    )
    assert count("mixed") == 0 and count("unbootable") == 0 and count("wrong") == 0, tally
    assert cuts >= 200, cuts
    # every rollback was reported
    rolled = [e for e in SERVER.get("/_log?id=cut-r")["events"] if e["type"] == "rolled_back"]
    assert rolled and all(e["sequence"] == 33 for e in rolled), rolled
    assert len(rolled) >= len([r for r in results if r[0] == "rollback"]), len(rolled)


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
