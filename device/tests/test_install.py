# The install transaction and the trial after it, on a RAM flash: every flash change of an install,
# a rollback and a confirmation is cut short in turn (a reset), then boot recovery must end in
# exactly one release, and nothing but what the phase allows may be left in /.aloft.
from harness import DEVICE, RamFlash, mount_flash, raises, run, test
import hashlib
import json
import os
from binascii import hexlify
# Every change the agent makes to the flash goes through fs.py, whose os a power cut (CountingOs) replaces. The
# modules the tests call are loaded now; the rest load from the host, which mount_flash keeps visible at its own path.
from aloft import accept, apply, config, fs, journal, legacy, outbox as _outbox, plan, restore, state, tree, trial, where

HOST = "/" + DEVICE.split("/")[1]  # where mount_flash mounts the host folder: not part of the flash's tree


class Reset(BaseException):
    pass


class CountingOs:
    # os for fs.py, that "loses power" before the n-th change to the flash.
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


V1 = {
    "main.py": b"v1 main\n",
    "lib/util.py": b"util\n",
    "lib/keep.py": b"keep\n",
    "old/only.py": b"gone\n",
    "pkg/__init__.py": b"",  # a package ...
    "pkg/mod.py": b"X = 1\n",
    "data/a.bin": b"\x01",  # a folder ...
}
V2 = {
    "main.py": b"v2 main\n",
    "lib/keep.py": b"keep\n",
    "lib/util.py/x.py": b"a folder where a file was\n",
    "new/deep/file.bin": b"\x00\x01" * 3000,
    "new/same.py": b"v2 main\n",  # same bytes as main.py
    "new/empty/__init__.py": b"",
    "pkg.py": b"X = 2\n",  # ... replaced by a module of its name
    "data": b"a file where a folder was\n",  # ... replaced by a file
}
UNTRACKED = {"notes.txt": b"the user's\n"}


def file_list(files):
    return "".join("%s %d %s\n" % (sha(b), len(b), p) for p, b in sorted(files.items())).encode()


def write_list(files):
    # A release's file list where the agent keeps them; its name.
    data = file_list(files)
    name = sha(data)
    put(where.LISTS + "/" + name, data)
    return name


def journal_for(files, seq, trust=None):
    """What the agent writes for an install of files over what is installed, after the downloads: the
    new file list staged, the plan (plan.write) as the journal's ops, the staged files, the header."""
    data = file_list(files)
    name = sha(data)
    put(config.staged_list(name), data)
    have = state.installed()
    with open(config.STAGE + "/plan", "w") as out:
        plan.write(out, have, config.staged_list(name))
    with open(config.STAGE + "/plan") as f:
        for line in f:
            if line[0] == "p":
                h, _, _, path = line[2:-1].split(" ", 3)
                put(config.staged(h, path), files[path[1:]])
    os.rename(config.STAGE + "/plan", where.OPS)
    j = {"version": "%d.0.0" % seq, "sequence": seq, "list": name, "previous": journal.record(have, have.get("rejected", 0))}
    if trust:
        j["trust"] = trust
    fs.write_json(where.JOURNAL, j)
    return j


def ops(j):
    with open(where.OPS) as f:
        return [line.split() for line in f]


def put(path, data):
    tree.makedirs(path[: path.rfind("/")])
    with open(path, "wb") as f:
        f.write(data)


def listing(path=""):
    out = {}
    for e in os.ilistdir(path or "/"):
        p = path + "/" + e[0]
        if p == HOST:
            continue
        if e[1] == 0x4000:
            sub = listing(p)
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
    mount_flash(bd)
    for p, b in V1.items():
        put("/" + p, b)
    for p, b in UNTRACKED.items():
        put("/" + p, b)
    tree.makedirs(config.DIR)
    fs.write_json(where.INSTALLED, {"version": "1.0.0", "sequence": 1, "list": write_list(V1)})
    return journal_for(V2, 2, trust)


def release_on_flash():
    """1 or 2: which release the files outside /.aloft are, exactly; AssertionError for anything else."""
    got = listing()
    for p in list(got):
        if p.startswith("/.aloft/") or "#" in p:  # the agent's: its state, and path#old / path#new
            got.pop(p)
    for files, seq in ((V1, 1), (V2, 2)):
        want = dict(("/" + p, b) for p, b in list(files.items()) + list(UNTRACKED.items()))
        if got == want:
            inst = state.installed()
            assert inst["sequence"] == seq and inst["list"] == sha(file_list(files)), inst
            with open(where.LISTS + "/" + inst["list"], "rb") as f:
                assert f.read() == file_list(files)
            return seq
    raise AssertionError("a mix on flash: %s" % sorted(got))


def agent_state():
    return sorted(p for p in listing() if (p.startswith("/.aloft/") or "#" in p) and p != where.INSTALLED)


def check_state(files, seq, trial_left=False):
    assert release_on_flash() == seq
    left = agent_state()
    if not trial_left:  # settled: no journal, trial record or old files (downloads may wait in the stage)
        mine = (where.OUTBOX, where.TRUST, where.LISTS + "/" + state.installed()["list"])  # the installed release's file list
        assert [p for p in left if p not in mine and not p.startswith(config.STAGE)] == [], left


def cut(fn, n, *args):
    # Run fn(*args) with power lost before its n-th flash change; True if it completed first.
    fs.os = CountingOs(n)
    try:
        fn(*args)
        return True
    except Reset:
        return False
    finally:
        fs.os = os


def with_device(fn, trust=None):
    j = device_v1(trust)
    try:
        fn(j)
    finally:
        os.umount(HOST)
        os.umount("/")


def outbox():
    try:
        return [(e["type"], e["sequence"]) for e in fs.read_json(where.OUTBOX)]
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
        apply.apply(j)
        assert release_on_flash() == 2
        assert journal.read() is not None and journal.trial_state(j) == {"sequence": 2, "boots": 0, "state": "trial"}
        side = agent_state()
        assert "/main.py#old" in side and "/old#old/only.py#old" in side and "/pkg#old/mod.py#old" in side and "/data#old/a.bin#old" in side, side
        assert not [p for p in side if p.startswith("/pkg/") or p.startswith("/data/")], side  # nothing shadows pkg.py
        assert sorted(o[0] + " " + o[-1] for o in ops(j) if o[0] == "m") == ["m /data", "m /old", "m /pkg"], ops(j)
        assert trial.recover() is not None  # on trial: recovery leaves it alone
        assert release_on_flash() == 2

    with_device(step)


@test
def reset_at_every_point_of_an_install_then_boot_recovery():
    def step(j, n):
        done = cut(apply.apply, n, j)
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
            cut(apply.apply, 9, j)  # part way in
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
        apply.apply(j)
        done = cut(trial.rollback, n, j, "main.py raised ValueError: boom")
        if trial.recover() is not None:  # the reset came before the rollback was decided: still on
            assert n == 0 and release_on_flash() == 2  # trial, and main.py raises again at the next boot
            trial.rollback(j, "main.py raised ValueError: boom")
        check_state(V1, 1)
        assert state.installed()["rejected"] == 2
        assert outbox() == [("rolled_back", 2)], outbox()
        assert fs.read_json(where.OUTBOX)[0]["reason"] == "main.py raised ValueError: boom"
        return done

    print("     %d reset points" % every_cut(step))


@test
def reset_during_a_rollback_and_again_during_its_recovery():
    points = 0

    def step(j, n):
        nonlocal points
        apply.apply(j)
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
        assert state.installed()["rejected"] == 2 and outbox() == [("rolled_back", 2)]
        return done

    every_cut(step)
    print("     %d double reset points" % points)


@test
def reset_at_every_point_of_a_confirmation_then_boot_recovery():
    def step(j, n):
        apply.apply(j)
        done = cut(trial.confirm, n, j)
        t = journal.trial_state(j)
        on_trial = trial.recover() is not None
        if on_trial:  # the reset came before the confirmation was decided: still on trial
            assert t is None or t["state"] == "trial", t
            assert release_on_flash() == 2 and outbox() == []
            trial.confirm(j)
        check_state(V2, 2)
        assert outbox() == [("confirmed", 2)], outbox()
        assert "rejected" not in state.installed()
        return done

    print("     %d reset points" % every_cut(step))


def trust():
    try:
        return fs.read_json(where.TRUST)
    except OSError:
        return None


@test
def a_release_trust_is_adopted_by_its_confirmation_at_every_reset_point():
    def step(j, n):
        assert j["trust"] == TRUST
        apply.apply(j)
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
        apply.apply(j)
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
        apply.apply(j)
        for boot in (1, 2, 3):
            assert trial.recover() is not None
            assert trial.count_boot(j, 3)
            assert journal.trial_state(j)["boots"] == boot
        assert trial.recover() is not None
        assert not trial.count_boot(j, 3)
        check_state(V1, 1)
        e = fs.read_json(where.OUTBOX)[-1]
        assert e["type"] == "rolled_back" and e["reason"] == "not confirmed after 3 boots", e

    with_device(step)


@test
def a_reset_while_counting_a_boot_loses_no_state():
    def step(j, n):
        apply.apply(j)
        done = cut(trial.count_boot, n, j, 3)
        assert trial.recover() is not None and release_on_flash() == 2
        assert journal.trial_state(j)["boots"] == 1 if done else journal.trial_state(j)["boots"] in (0, 1)
        return done

    every_cut(step)


@test
def recover_rolls_back_when_a_staged_file_is_lost():
    def step(j):
        cut(apply.apply, 3, j)
        os.remove(config.staged(sha(V2["new/deep/file.bin"]), "/new/deep/file.bin"))
        assert trial.recover() is None
        assert release_on_flash() == 1

    with_device(step)


@test
def a_lost_staged_file_is_never_taken_for_an_installed_one():
    # main.py (which has a backup) lost its staged copy before being moved: apply must not take
    # the old main.py at the path for the new one.
    def step(j):
        os.remove(config.staged(sha(V2["main.py"]), "/main.py"))
        assert trial.recover() is None
        assert release_on_flash() == 1

    with_device(step)


@test
def leftovers_without_a_journal_are_removed_but_downloads_kept():
    def step(j):
        apply.apply(j)
        trial.confirm(j)
        check_state(V2, 2)
        fs.write_json(where.TRIAL, {"sequence": 1, "boots": 2, "state": "trial"})
        put(config.STAGE + "/abc.part", b"half a download")
        assert state.pending()
        assert trial.recover() is None
        assert not state.pending()
        assert agent_state() == [where.LISTS + "/" + sha(file_list(V2)), where.OUTBOX, config.STAGE + "/abc.part"], agent_state()
        assert release_on_flash() == 2

    with_device(step)


@test
def a_stage_alone_is_not_pending():
    def step(j):
        apply.apply(j)
        trial.confirm(j)
        put(config.STAGE + "/abc.part", b"half")
        assert not state.pending()

    with_device(step)


@test
def plan_refuses_a_folder_or_file_no_release_installed_in_the_way():
    def planned(files):
        data = file_list(files)
        put(config.STAGE + "/x.lst", data)
        with open(config.STAGE + "/plan.tmp", "w") as out:
            return plan.write(out, state.installed(), config.STAGE + "/x.lst")

    def step(j):
        os.remove(where.JOURNAL)  # planning happens with no install under way
        put("/blocker/x.py", b"user folder\n")
        put("/afile", b"user file\n")
        e = raises(ValueError, planned, dict(V1, blocker=b"x"))
        assert "folder blocker holds files no release installed" in str(e), e
        e = raises(ValueError, planned, dict(V1, **{"afile/x.py": b"x"}))
        assert "file afile is in the way of afile/x.py" in str(e), e
        # a folder of release files in the way goes aside; so does an empty one
        os.mkdir("/emptydir")
        v3 = dict(V1, **{"old": b"now a file", "emptydir": b"x"})
        del v3["old/only.py"]
        need, agent = planned(v3)
        assert not agent and need > 0
        with open(config.STAGE + "/plan.tmp") as f:
            lines = [line.split() for line in f]
        assert ["m", "/old"] in lines and ["m", "/emptydir"] in lines and ["d", "/old/only.py"] in lines, lines

    with_device(step)


@test
def the_journal_keeps_the_previous_record_and_the_rejected_sequence():
    def step(j):
        assert j["previous"] == {"version": "1.0.0", "sequence": 1, "list": sha(file_list(V1))}, j["previous"]
        os.remove(where.JOURNAL)
        rec = state.installed()
        rec["rejected"] = 5
        fs.write_json(where.INSTALLED, rec)
        j2 = journal_for(V1, 6)  # nothing changes: no ops
        assert j2["previous"]["rejected"] == 5 and ops(j2) == [], ops(j2)
        apply.apply(j2)
        assert state.installed()["rejected"] == 5 and state.installed()["sequence"] == 6

    with_device(step)


@test
def a_legacy_record_is_rewritten_as_a_file_list_once_nothing_needs_it():
    def step(j):
        trial.undo(j)
        legacy = {"version": "1.0.0", "sequence": 1, "files": dict((p, sha(b)) for p, b in V1.items()), "rejected": 3}
        fs.write_json(where.INSTALLED, legacy)
        fs.write_json(where.LEGACY, {"version": "2.0.0", "sequence": 2, "ops": [], "files": {}, "previous": legacy})
        assert state.installed()["files"] == legacy["files"]  # a legacy journal still needs it as it is
        os.remove(where.LEGACY)
        rec = state.installed()
        assert rec == {"version": "1.0.0", "sequence": 1, "rejected": 3, "list": sha(file_list(V1))}, rec
        assert fs.read_json(where.INSTALLED) == rec
        assert release_on_flash() == 1

    with_device(step)


run()
