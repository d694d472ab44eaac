# sim/run.py boots an image as a board would; its exit code tells the caller what happened.
from harness import DEVICE, micropython, read, run, sh, tempdir, test, write
import json
import os
import flashtool
from aloft import fs

TMP = tempdir("sim")
RUN = "%s %s/sim/run.py" % (micropython(), DEVICE)
UNREACHABLE = {"server": "http://127.0.0.1:9", "id": "dev-1", "token": "t", "keys": ["00" * 32], "timeout": 1}


def device(main=None, boot=True, cfg=UNREACHABLE):
    src = tempdir("sim-src")
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
    flashtool.mkfs(TMP + "/flash.img", 128 * 1024, src, True)
    fs.rmtree(src)
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


@test
def bad_arguments_exit_1():
    assert sh("%s %s/missing.img > %s/out 2>&1" % (RUN, TMP, TMP)) == 1
    assert sh("%s > %s/out 2>&1" % (RUN, TMP)) == 1


try:
    run()
finally:
    fs.rmtree(TMP)
