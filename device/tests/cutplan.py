# What the power-cut suites share (test_powercut.py: the files and the agent; test_fwpowercut.py: the firmware): the
# releases they cut between (P1 -> P2), kill points spread over the flash operations a boot was counted to do on a
# clean run (ALOFT_SIM_CUT_AFTER_WRITES=0), second cuts while the next boot recovers, and the worker processes that
# try them (a suite runs its own file again with --worker).
from harness import micropython, read, sh
import json
import os
import time
from aloft import fs, tree
from shapes import noise


def text(n):
    return b"".join(b"row %05d of the lookup table, fine for zlib\n" % i for i in range(n // 44 + 1))[:n]


def app(version, imports, breaks_on=None):
    """main.py of release version: it imports modules that must all say that version, then prints "app <version> ok".
    breaks_on (a MicroPython "X.Y"): it raises first on that firmware, as an application that needs a change for it."""
    checks = " == ".join("%s.V" % m for m in imports)
    head = ""
    if breaks_on:
        head = "import sys\nassert sys.implementation.version[:2] != (%s), 'app %d breaks on %s'\n" % (breaks_on.replace(".", ", "), version, breaks_on)
    return (head + "import %s\nassert %s == %d\nprint('app %d ok')\n" % (", ".join(imports), checks, version, version)).encode()


P1 = {
    "main.py": app(31, ["lib.a", "lib.b"]),
    "lib/a.py": b"V = 31\n",
    "lib/b.py": b"V = 31\n",
    "data/table.bin": noise(9000, 1),
    "data/same.txt": text(3000),
    "cfg/old.json": b'{"gone": "in v2"}\n',
}
P2 = {
    "main.py": app(32, ["lib.a", "lib.c"]),
    "lib/a.py": b"V = 32\n",
    "lib/c.py": b"V = 32\n",
    "data/table.bin": noise(14000, 2),
    "data/same.txt": text(3000),
    "data/text.txt": text(16000),  # fetched zlib-packed
    "new/deep/x.py": b"X = 1\n",
}


def rng(seed):
    # a tiny LCG: the same kill points on every run
    state = [seed]

    def next_int(n):
        state[0] = (state[0] * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return (state[0] >> 33) % n

    return next_int


def spread(ops, count, rand):
    """count kill points over 1..ops, one in each of count equal strides, at a seeded offset."""
    count = min(count, ops)
    points = []
    for i in range(count):
        lo = 1 + i * ops // count
        hi = 1 + (i + 1) * ops // count
        points.append(lo + rand(max(hi - lo, 1)))
    return points


def plan_cuts(points, kind, image, ops, count, rand, recovery=0):
    """count kill points of a boot of ops flash operations from image, appended to points as [kind, image, n, m]; up
    to recovery of them get a second cut m while the next boot recovers (at one of its first operations): those in the
    last quarter first (the journal, the renames, the commit; the switch to a new firmware: the next boot rolls
    forward), then a sample of the others (the next boot resumes the downloads)."""
    ns = spread(ops, count, rand)
    late = [n for n in ns if n > ops * 3 // 4][:recovery]
    early = [n for n in ns if n <= ops * 3 // 4]
    second = set(late)
    if recovery > len(late):
        second.update(early[:: max(len(early) // (recovery - len(late)), 1)][: recovery - len(late)])
    for n in ns:
        points.append([kind, image, n, 1 + rand(60) if n in second else 0])


def operations(out):
    """What a boot with ALOFT_SIM_CUT_AFTER_WRITES=0 counted, the simulator's last line: "sim: N block writes" (a
    LittleFS image) or "sim: N flash operations" (an ESP32's flash)."""
    return int(out.rsplit("sim: ", 1)[1].split()[0])


def which(releases, files):
    """The name of the release files are, exactly, or None."""
    for name, want in releases.items():
        if files == want:
            return name
    return None


SEED = int(os.getenv("ALOFT_TEST_CUT_SEED") or 2026)


def cut_env(n):
    """The environment of a boot cut at flash operation n: the quarters of it done before the power goes
    (ALOFT_SIM_CUT_TEAR, 0 = just before it) from a hash of n and the seed, not from n itself, so the moment between two
    operations is reached wherever the second one falls (the simulator's default, n mod 4, reaches it every 4th)."""
    return "ALOFT_SIM_CUT_AFTER_WRITES=%d ALOFT_SIM_CUT_TEAR=%d " % (n, ((n ^ SEED) * 2654435761 & 0xFFFFFFFF) >> 30)


def worker(argv, cut):
    """In a worker process (argv: SCRIPT --worker INDEX COUNT PLAN): cut(dev, plan, point), a result row, for every
    COUNT-th point of the plan from INDEX, on a device of its own (simulated.Device.at a folder beside the plan); the
    rows go to the plan's results file for INDEX, written even when a point fails. False when argv is not a worker's."""
    if len(argv) != 5 or argv[1] != "--worker":
        return False
    from simulated import Device

    index, count = int(argv[2]), int(argv[3])
    with open(argv[4]) as f:
        plan = json.load(f)
    tmp = argv[4].rsplit("/", 1)[0] + "/w%d" % index
    os.mkdir(tmp)
    results = []
    try:
        dev = Device.at(tmp)
        for i, point in enumerate(plan["points"]):
            if i % count == index:
                results.append(cut(dev, plan, point))
    finally:
        out = plan["results"] + ".%d" % index
        with open(out + ".tmp", "w") as f:
            json.dump(results, f)
        os.rename(out + ".tmp", out)
        tree.rmtree(tmp)
    return True


def run_workers(script, plan, tmp, workers, deadline):
    """The result rows of plan's points, cut by workers processes of script (each calls worker()), plan written to
    tmp/plan.json. Fails, the workers stopped, when they have not all finished by deadline (time.ticks_ms())."""
    plan["results"] = tmp + "/results"
    with open(tmp + "/plan.json", "w") as f:
        json.dump(plan, f)
    for w in range(workers):
        sh("%s %s --worker %d %d %s > %s/worker%d.log 2>&1 & echo $! > %s/worker%d.pid" % (micropython(), script, w, workers, tmp + "/plan.json", tmp, w, tmp, w))
    results = []
    try:
        for w in range(workers):
            path = tmp + "/results.%d" % w
            while not fs.stat(path):
                assert time.ticks_diff(deadline, time.ticks_ms()) > 0, "workers did not finish:\n" + read(tmp + "/worker%d.log" % w).decode()[-3000:]
                time.sleep_ms(200)
            with open(path) as f:
                results.extend(json.load(f))
    except BaseException:
        for w in range(workers):  # the workers this started, by their process ids
            if not fs.stat(tmp + "/results.%d" % w):
                sh("kill %s 2>/dev/null" % read(tmp + "/worker%d.pid" % w).decode().strip())
        raise
    assert len(results) == len(plan["points"]), (len(results), len(plan["points"]), read(tmp + "/worker0.log").decode()[-3000:])
    return results
