# The install journal: every rename of an install is cut short at every possible point (a reset),
# then recovery must end in exactly the new release, and an undo in exactly the old one.
from harness import RamFlash, raises, run, test
import hashlib
import json
import os
from binascii import hexlify
from aloft import config, fs, install


class Reset(BaseException):
    pass


class CountingOs:
    # os for the install code, that "loses power" before the n-th change to the flash.
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


def device_v1():
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
    puts = [f for f in m["files"] if V1.get(f["path"]) is None or sha(V1[f["path"]]) != f["sha256"]]
    fs.makedirs(config.STAGE)
    for f in puts:
        put(config.STAGE + "/" + f["sha256"], V2[f["path"]])
    j = install.plan(m, puts, config.installed(), memoryview(bytearray(64)))
    fs.write_json(config.JOURNAL, j)
    return j


def release_state(files, seq):
    want = {}
    for p, b in list(files.items()) + list(UNTRACKED.items()):
        want["/" + p] = b
    want["/.aloft/installed.json"] = None  # compared separately
    return want


def check_state(files, seq):
    got = tree()
    inst = json.loads(got.pop("/.aloft/installed.json"))
    assert inst["sequence"] == seq and inst["files"] == dict((p, sha(b)) for p, b in files.items()), inst
    want = dict(("/" + p, b) for p, b in list(files.items()) + list(UNTRACKED.items()))
    assert got == want, "\n got %s\nwant %s" % (sorted(got), sorted(want))


def cut(fn, j, n):
    # Run fn(j) with power lost before its n-th flash change; True if it completed first.
    install.os = fs.os = CountingOs(n)
    try:
        fn(j)
        return True
    except Reset:
        return False
    finally:
        install.os = fs.os = os


def with_device(fn):
    j = device_v1()
    try:
        fn(j)
    finally:
        os.umount("/")


@test
def plain_install_and_undo():
    def forward(j):
        install.apply(j)
        check_state(V2, 2)

    with_device(forward)

    def back(j):
        install.undo(j)
        check_state(V1, 1)

    with_device(back)


@test
def reset_at_every_point_of_install_then_recover():
    n = 0
    while True:
        done = [False]

        def step(j):
            done[0] = cut(install.apply, j, n)
            install.recover()
            check_state(V2, 2)

        with_device(step)
        if done[0]:
            break
        n += 1
    print("     %d reset points" % n)
    assert n > 10


@test
def reset_at_every_point_of_install_then_undo():
    n = 0
    while True:
        done = [False]

        def step(j):
            done[0] = cut(install.apply, j, n)
            if not done[0]:
                install.undo(j)
                if config.installed()["sequence"] == 2:  # the reset came after the commit
                    check_state(V2, 2)
                else:
                    check_state(V1, 1)

        with_device(step)
        if done[0]:
            break
        n += 1


@test
def reset_during_undo_then_undo_again_or_recover():
    # An install that failed part way is undone; a reset during the undo leaves the journal, and
    # either another undo ends in v1 or boot recovery (which rolls forward) ends in v2.
    for again, want, seq in ((install.undo, V1, 1), (lambda j: install.recover(), V2, 2)):
        n = 0
        while True:
            done = [False]

            def step(j):
                cut(install.apply, j, 9)  # part way in
                done[0] = cut(install.undo, j, n)
                if done[0]:
                    check_state(V1, 1)
                    return
                if fs.stat(config.JOURNAL) is not None:
                    again(j)
                    check_state(want, seq)
                else:  # the undo was done, only its cleanup was cut short
                    install.recover()
                    check_state(V1, 1)

            with_device(step)
            if done[0]:
                break
            n += 1


@test
def recover_rolls_back_when_a_staged_file_is_lost():
    def step(j):
        cut(install.apply, j, 3)
        for op in j["ops"]:
            if op[0] == "put" and op[1] == "/new/deep/file.bin":
                os.remove(op[2])
        install.recover()
        check_state(V1, 1)

    with_device(step)


@test
def a_lost_staged_file_is_never_taken_for_an_installed_one():
    # main.py (which has a backup) lost its staged copy before being moved: apply must not take
    # the old main.py at the path for the new one.
    def step(j):
        for op in j["ops"]:
            if op[1] == "/main.py":
                os.remove(op[2])
        install.recover()
        check_state(V1, 1)

    with_device(step)


@test
def nothing_to_recover_without_journal():
    def step(j):
        install.apply(j)
        assert install.recover() is None
        check_state(V2, 2)
        fs.makedirs(config.BACKUP + "/x")  # leftovers without a journal
        put(config.STAGE + "/abc", b"x")
        assert config.interrupted()
        assert install.recover() is None
        assert not config.interrupted()
        check_state(V2, 2)

    with_device(step)


@test
def plan_refuses_a_folder_or_file_in_the_way():
    def step(j):
        put("/blocker/x.py", b"user folder\n")
        put("/afile", b"user file\n")
        m = manifest({"blocker": b"x"}, 3)
        e = raises(ValueError, install.plan, m, m["files"], config.installed(), None)
        assert "folder is in the way" in str(e), e
        m = manifest({"afile/x.py": b"x"}, 3)
        e = raises(ValueError, install.plan, m, m["files"], config.installed(), None)
        assert "file /afile is in the way" in str(e), e

    with_device(step)


run()
