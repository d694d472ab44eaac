# The install transaction and the trial after it, on a RAM flash: every flash change of an install,
# a rollback and a confirmation is cut short in turn (a reset), then boot recovery must end in
# exactly one release, and nothing but what the phase allows may be left in /.aloft.
from harness import RamFlash, raises, run, test
import hashlib
import json
import os
from binascii import hexlify
from aloft import config, fs, install, outbox as _outbox, plan, trial  # loaded now: the RAM flash hides the host


class Reset(BaseException):
    pass


class CountingOs:
    # os for the agent's flash code, that "loses power" before the n-th change to the flash.
    def __init__(self, n):
        self.n = n

    def _tick(self):
        if self.n == 0:
            raise Reset()
        self.n -= 1

    def __getattr__(self, name):
        return getattr(os, name)

    def rename(self, a, b):
        self._tick()
        os.rename(a, b)

    def remove(self, p):
        self._tick()
        os.remove(p)

    def mkdir(self, p):
        self._tick()
        os.mkdir(p)

    def rmdir(self, p):
        self._tick()
        os.rmdir(p)


def sha(b):
    return hexlify(hashlib.sha256(b).digest()).decode()


V1 = {"main.py": b"v1 main\n", "lib/util.py": b"util\n", "lib/keep.py": b"keep\n", "old/only.py": b"gone\n"}
V2 = {
    "main.py": b"v2 main\n",
    "lib/keep.py": b"keep\n",
    "lib/util.py/x.py": b"a folder where a file was\n",
    "new/deep/file.bin": b"\x00\x01" * 3000,
    "new/same.py": b"v2 main\n",  # same bytes as main.py
}
UNTRACKED = {"notes.txt": b"the user's\n"}


def manifest(files, seq):
    entries = [{"path": p, "sha256": sha(b), "size": len(b)} for p, b in sorted(files.items())]
    return {"version": "%d.0.0" % seq, "sequence": seq, "files": entries}


def put(path, data):
    fs.makedirs(path[: path.rfind("/")])
    with open(path, "wb") as f:
        f.write(data)


def tree(path=""):
    out = {}
    for e in os.ilistdir(path or "/"):
        p = path + "/" + e[0]
        if e[1] == 0x4000:
            sub = tree(p)
            out.update(sub if sub else {p + "/": None})  # an empty folder shows too
        else:
            with open(p, "rb") as f:
                out[p] = f.read()
    return out


FLASH = RamFlash()


TRUST = {"keys": ["ab" * 32, "cd" * 32], "threshold": 2}  # what v2 carries in with_trust()


def device_v1(trust=None):
    # A fresh flash with v1 installed and v2's changed files staged, as after the downloads.
    bd = FLASH
    os.VfsLfs2.mkfs(bd)
    os.mount(os.VfsLfs2(bd), "/")
    for p, b in V1.items():
        put("/" + p, b)
    for p, b in UNTRACKED.items():
        put("/" + p, b)
    fs.makedirs(config.DIR)
    fs.write_json(config.INSTALLED, {"version": "1.0.0", "sequence": 1, "files": dict((p, sha(b)) for p, b in V1.items())})
    m = manifest(V2, 2)
    if trust:
        m["trust"] = trust
    puts = [f for f in m["files"] if V1.get(f["path"]) is None or sha(V1[f["path"]]) != f["sha256"]]
    fs.makedirs(config.STAGE)
    for f in puts:
        put(config.STAGE + "/" + f["sha256"], V2[f["path"]])
    j = plan.journal(m, puts, config.installed(), memoryview(bytearray(64)))
    fs.write_json(config.JOURNAL, j)
    return j


def release_on_flash():
    """1 or 2: which release the files outside /.aloft are, exactly; AssertionError for anything else."""
    got = tree()
    for p in list(got):
        if p.startswith("/.aloft/") or "#" in p:  # the agent's: its state, and path#old / path#new
            got.pop(p)
    for files, seq in ((V1, 1), (V2, 2)):
        want = dict(("/" + p, b) for p, b in list(files.items()) + list(UNTRACKED.items()))
        if got == want:
            inst = config.installed()
            assert inst["sequence"] == seq and inst["files"] == dict((p, sha(b)) for p, b in files.items()), inst
            return seq
    raise AssertionError("a mix on flash: %s" % sorted(got))


def agent_state():
    return sorted(p for p in tree() if (p.startswith("/.aloft/") or "#" in p) and p != config.INSTALLED)


def check_state(files, seq, trial_left=False):
    assert release_on_flash() == seq
    left = agent_state()
    if not trial_left:  # settled: no journal, trial record or old files (downloads may wait in the stage)
        assert [p for p in left if p not in (config.OUTBOX, config.TRUST) and not p.startswith(config.STAGE)] == [], left


def cut(fn, n, *args):
    # Run fn(*args) with power lost before its n-th flash change; True if it completed first.
    install.os = trial.os = fs.os = CountingOs(n)
    try:
        fn(*args)
        return True
    except Reset:
        return False
    finally:
        install.os = trial.os = fs.os = os


def with_device(fn, trust=None):
    j = device_v1(trust)
    try:
        fn(j)
    finally:
        os.umount("/")


def outbox():
    try:
        return [(e["type"], e["sequence"]) for e in fs.read_json(config.OUTBOX)]
    except OSError:
        return []


def every_cut(step, trust=None):
    # step(n) for n = 0, 1, 2 ... until the cut comes after the whole operation; returns the count
    n = 0
    while True:
        done = [False]

        def one(j):
            done[0] = step(j, n)

        with_device(one, trust)
        if done[0]:
            return n
        n += 1


@test
def install_commits_to_a_trial_and_keeps_the_backups():
    def step(j):
        install.apply(j)
        assert release_on_flash() == 2
        assert trial.journal() is not None and install.trial_state(j) == {"sequence": 2, "boots": 0, "state": "trial"}
        assert "/main.py#old" in agent_state() and "/old/only.py#old" in agent_state(), agent_state()
        assert trial.recover() is not None  # on trial: recovery leaves it alone
        assert release_on_flash() == 2

    with_device(step)


@test
def reset_at_every_point_of_an_install_then_boot_recovery():
    def step(j, n):
        done = cut(install.apply, n, j)
        assert trial.recover() is not None, "not on trial after recovery"
        assert release_on_flash() == 2
        return done

    n = every_cut(step)
    print("     %d reset points" % n)
    assert n > 10


@test
def reset_at_every_point_of_an_undo_then_undo_or_recover():
    # An install that failed part way is undone; a reset during the undo leaves the journal, and
    # another undo ends in v1; boot recovery rolls forward while it can (v2) and else finishes the
    # undo (v1: an undo deletes the new files it takes back).
    for again in (trial.undo, lambda j: trial.recover()):
        ends = set()

        def step(j, n):
            cut(install.apply, 9, j)  # part way in
            done = cut(trial.undo, n, j)
            if done:
                check_state(V1, 1)
                return True
            again(j)
            ends.add(release_on_flash())
            assert trial.recover() is None or release_on_flash() == 2  # settled, or on trial with v2
            return False

        every_cut(step)
        assert ends == ({1} if again is trial.undo else {1, 2}), ends


@test
def reset_at_every_point_of_a_rollback_then_boot_recovery():
    def step(j, n):
        install.apply(j)
        done = cut(trial.rollback, n, j, "main.py raised ValueError: boom")
        if trial.recover() is not None:  # the reset came before the rollback was decided: still on
            assert n == 0 and release_on_flash() == 2  # trial, and main.py raises again at the next boot
            trial.rollback(j, "main.py raised ValueError: boom")
        check_state(V1, 1)
        assert config.installed()["rejected"] == 2
        assert outbox() == [("rolled_back", 2)], outbox()
        assert fs.read_json(config.OUTBOX)[0]["reason"] == "main.py raised ValueError: boom"
        return done

    print("     %d reset points" % every_cut(step))


@test
def reset_during_a_rollback_and_again_during_its_recovery():
    points = 0

    def step(j, n):
        nonlocal points
        install.apply(j)
        done = cut(trial.rollback, n, j, "boom")
        if not done and n:
            for m in range(0, 40, 3):  # a second reset while recovering, then a clean boot
                if cut(trial.recover, m):
                    break
                points += 1
            assert trial.recover() is None
        if n == 0:  # not decided yet: decided again at the next boot
            trial.rollback(j, "boom")
        check_state(V1, 1)
        assert config.installed()["rejected"] == 2 and outbox() == [("rolled_back", 2)]
        return done

    every_cut(step)
    print("     %d double reset points" % points)


@test
def reset_at_every_point_of_a_confirmation_then_boot_recovery():
    def step(j, n):
        install.apply(j)
        done = cut(trial.confirm, n, j)
        t = install.trial_state(j)
        on_trial = trial.recover() is not None
        if on_trial:  # the reset came before the confirmation was decided: still on trial
            assert t is None or t["state"] == "trial", t
            assert release_on_flash() == 2 and outbox() == []
            trial.confirm(j)
        check_state(V2, 2)
        assert outbox() == [("confirmed", 2)], outbox()
        assert "rejected" not in config.installed()
        return done

    print("     %d reset points" % every_cut(step))


def trust():
    try:
        return fs.read_json(config.TRUST)
    except OSError:
        return None


@test
def a_release_trust_is_adopted_by_its_confirmation_at_every_reset_point():
    def step(j, n):
        assert j["trust"] == TRUST
        install.apply(j)
        assert trust() is None  # on trial: the old trust stays in force
        done = cut(trial.confirm, n, j)
        if trial.recover() is not None:  # not decided yet: still the old trust
            assert trust() is None
            trial.confirm(j)
        check_state(V2, 2)
        assert trust() == dict(TRUST, sequence=2), trust()
        return done

    print("     %d reset points" % every_cut(step, TRUST))


@test
def a_rolled_back_release_trust_is_dropped_at_every_reset_point():
    def step(j, n):
        install.apply(j)
        done = cut(trial.rollback, n, j, "boom")
        if trial.recover() is not None:
            trial.rollback(j, "boom")
        check_state(V1, 1)
        assert trust() is None
        return done

    print("     %d reset points" % every_cut(step, TRUST))


@test
def boots_on_trial_are_counted_and_one_too_many_rolls_back():
    def step(j):
        install.apply(j)
        for boot in (1, 2, 3):
            assert trial.recover() is not None
            assert trial.count_boot(j, 3)
            assert install.trial_state(j)["boots"] == boot
        assert trial.recover() is not None
        assert not trial.count_boot(j, 3)
        check_state(V1, 1)
        e = fs.read_json(config.OUTBOX)[-1]
        assert e["type"] == "rolled_back" and e["reason"] == "not confirmed after 3 boots", e

    with_device(step)


@test
def a_reset_while_counting_a_boot_loses_no_state():
    def step(j, n):
        install.apply(j)
        done = cut(trial.count_boot, n, j, 3)
        assert trial.recover() is not None and release_on_flash() == 2
        assert install.trial_state(j)["boots"] == 1 if done else install.trial_state(j)["boots"] in (0, 1)
        return done

    every_cut(step)


@test
def recover_rolls_back_when_a_staged_file_is_lost():
    def step(j):
        cut(install.apply, 3, j)
        for op in j["ops"]:
            if op[0] == "put" and op[1] == "/new/deep/file.bin":
                os.remove(op[2])
        assert trial.recover() is None
        assert release_on_flash() == 1

    with_device(step)


@test
def a_lost_staged_file_is_never_taken_for_an_installed_one():
    # main.py (which has a backup) lost its staged copy before being moved: apply must not take
    # the old main.py at the path for the new one.
    def step(j):
        for op in j["ops"]:
            if op[1] == "/main.py":
                os.remove(op[2])
        assert trial.recover() is None
        assert release_on_flash() == 1

    with_device(step)


@test
def leftovers_without_a_journal_are_removed_but_downloads_kept():
    def step(j):
        install.apply(j)
        trial.confirm(j)
        check_state(V2, 2)
        fs.write_json(config.TRIAL, {"sequence": 1, "boots": 2, "state": "trial"})
        put(config.STAGE + "/abc.part", b"half a download")
        assert config.pending()
        assert trial.recover() is None
        assert not config.pending()
        assert agent_state() == [config.OUTBOX, config.STAGE + "/abc.part"], agent_state()
        assert release_on_flash() == 2

    with_device(step)


@test
def a_stage_alone_is_not_pending():
    def step(j):
        install.apply(j)
        trial.confirm(j)
        put(config.STAGE + "/abc.part", b"half")
        assert not config.pending()

    with_device(step)


@test
def plan_refuses_a_folder_or_file_in_the_way():
    def step(j):
        put("/blocker/x.py", b"user folder\n")
        put("/afile", b"user file\n")
        m = manifest({"blocker": b"x"}, 3)
        e = raises(ValueError, plan.journal, m, m["files"], config.installed(), None)
        assert "folder is in the way" in str(e), e
        m = manifest({"afile/x.py": b"x"}, 3)
        e = raises(ValueError, plan.journal, m, m["files"], config.installed(), None)
        assert "file /afile is in the way" in str(e), e

    with_device(step)


@test
def the_journal_keeps_the_previous_record_and_the_rejected_sequence():
    def step(j):
        assert j["previous"] == {"version": "1.0.0", "sequence": 1, "files": dict((p, sha(b)) for p, b in V1.items())}
        rec = config.installed()
        rec["rejected"] = 5
        fs.write_json(config.INSTALLED, rec)
        m = manifest(V2, 6)
        j2 = plan.journal(m, [], config.installed(), None)
        assert j2["previous"]["rejected"] == 5
        install.apply(dict(j2, ops=[]))
        assert config.installed()["rejected"] == 5 and config.installed()["sequence"] == 6

    with_device(step)


run()
