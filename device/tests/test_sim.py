# sim/run.py boots an image as a board would; its exit code tells the caller what happened.
from harness import DEVICE, RamFlash, micropython, read, run, sh, tempdir, test, write
import json
import os
import flashtool
from aloft import tree

TMP = tempdir("sim")
RUN = "%s %s/sim/run.py" % (micropython(), DEVICE)
UNREACHABLE = {"server": "http://127.0.0.1:9", "id": "dev-1", "token": "t", "keys": ["00" * 32], "timeout": 1}


def device(main=None, boot=True, cfg=UNREACHABLE):
    src = tempdir("sim-src")
    try:
        if boot is True:
            write(src + "/boot.py", read(DEVICE + "/boot.py"))
        elif boot:
            write(src + "/boot.py", boot)
        for name in os.listdir(DEVICE + "/aloft"):
            if name.endswith(".py"):
                write(src + "/lib/aloft/" + name, read(DEVICE + "/aloft/" + name))
        write(src + "/.aloft/config.json", json.dumps(cfg).encode())
        if main is not None:
            write(src + "/main.py", main)
        flashtool.mkfs(TMP + "/flash.img", 512 * 1024, src, True)
    finally:
        tree.rmtree(src)
    return TMP + "/flash.img"


def boot(img, env=""):
    code = sh("%s%s %s > %s/out 2>&1" % (env, RUN, img, TMP))
    return code, read(TMP + "/out").decode()


@test
def main_py_raising_exits_1():
    code, out = boot(device(b"raise ValueError('app bug')\n"))
    assert code == 1, (code, out)
    assert "ValueError: app bug" in out and "failed: [Errno 111] ECONNREFUSED" in out, out


@test
def finished_app_with_failed_check_exits_2():
    code, out = boot(device(b"print('hello from main')\n"))
    assert code == 2, (code, out)
    assert "hello from main" in out and "last check result: error" in out, out


@test
def boot_and_main_share_a_namespace_and_see_the_board():
    main = b"import os, sys\nprint('shared', X, os.getcwd(), '/lib' in sys.path)\n"
    code, out = boot(device(main, b"X = 42\n"))
    assert "shared 42 / True" in out, out
    assert code == 2 and "last check result: None" in out, out  # no agent call at all


@test
def broken_boot_py_does_not_stop_main_py():
    code, out = boot(device(b"print('main ran')\n", b"import nonexistent_module\n"))
    assert "ImportError" in out and "main ran" in out, out


@test
def agent_failure_does_not_stop_main_py():
    code, out = boot(device(b"print('main ran')\n", True, {"id": "no server"}))
    assert "config.json has no server" in out and "main ran" in out, out


@test
def sys_exit_in_main_py_is_a_normal_end():
    code, out = boot(device(b"import sys\nprint('bye')\nsys.exit(3)\n"))
    assert code == 2 and "bye" in out, (code, out)


@test
def server_override_from_the_environment():
    code, out = boot(device(), "ALOFT_SIM_SERVER=http://127.0.0.1:7 ")
    assert "check-in to http://127.0.0.1:7 failed" in out, out


class _Cut(Exception):
    pass


class _CuttingFlash(RamFlash):
    # Refuses every change after the first `left` ones: the power is gone.
    left = -1

    def writeblocks(self, n, buf, off=0):
        if self.left == 0:
            raise _Cut()
        self.left -= 1
        RamFlash.writeblocks(self, n, buf, off)

    def ioctl(self, op, arg):
        if op == 6 and self.left == 0:
            raise _Cut()
        return RamFlash.ioctl(self, op, arg)


@test
def a_rename_between_folders_cut_in_the_middle_is_repaired_by_the_first_write():
    # LittleFS renames a file between folders in two commits. Cut between them, and until its next
    # write this LittleFS does not find the other files of the source folder: here /lib/aloft, as
    # it would be the agent. That is why the agent renames between folders only out of its stage,
    # and why boot.py (and run.py, which imports the agent before boot.py) start with a write that
    # repairs it: os.mkdir of a folder that exists, which changes nothing when all is well.
    import os

    flash = _CuttingFlash(64)
    os.VfsLfs2.mkfs(flash)
    v = os.VfsLfs2(flash)
    for d in ("/lib", "/lib/aloft", "/stage"):
        v.mkdir(d)
    for name in ("/lib/aloft/__init__.py", "/lib/a.py"):
        with v.open(name, "w") as f:
            f.write("V = 1\n")
    flash.left = 1  # the rename's first commit (into /stage) gets through, its second does not
    try:
        v.rename("/lib/a.py", "/stage/a.py")
        raise AssertionError("the rename was not cut")
    except _Cut:
        pass
    flash.left = -1
    v = os.VfsLfs2(flash)  # power back
    assert v.stat("/stage/a.py")
    try:
        v.stat("/lib/aloft/__init__.py")
        print("     (this LittleFS finds the other files with the rename half done)")
    except OSError:
        print("     with the rename half done, /lib/aloft/__init__.py is not found")
    try:
        v.mkdir("/lib")  # the repair
    except OSError:
        pass
    v = os.VfsLfs2(flash)
    assert v.stat("/lib/aloft/__init__.py") and sorted(e[0] for e in v.ilistdir("/lib")) == ["aloft"]


@test
def bad_arguments_exit_1():
    assert sh("%s %s/missing.img > %s/out 2>&1" % (RUN, TMP, TMP)) == 1
    assert sh("%s > %s/out 2>&1" % (RUN, TMP)) == 1


try:
    run()
finally:
    tree.rmtree(TMP)
