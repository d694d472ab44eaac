# Boot a simulated device from a flash image, as a board would:
#
#   micropython run.py IMAGE
#
# mounts IMAGE at /, runs /boot.py then /main.py in one __main__ namespace, with the board hooks
# (aloft_board, see aloft/board.py) set: reset() ends the process with code 75 (the caller starts
# it again). (On a trial boot the agent runs main.py from boot.py and resets, so the second step
# does not come.)
# Exit codes: 75 reset requested, 0 finished and the last check said "none", 2 finished with
# another (or no) check result, 1 main.py raised. Environment:
#   ALOFT_SIM_SERVER=URL            the server URL instead of the config's
#   ALOFT_SIM_BATTERY=PERCENT       what the board's battery hook reports (default: no battery)
#   ALOFT_SIM_UNIQUE_ID=ID          what the board's unique_id hook reports (a generic image enrolls
#                                   with it); default: the config's board and a hash of IMAGE's path
#   ALOFT_SIM_CUT_AFTER_WRITES=N    power cut (SIGKILL) at the N-th block write; 0: none, but
#                                   print "sim: N block writes" at the end
#   ALOFT_SIM_FAIL_ON=VERSION       this board cannot run release VERSION: its main.py raises at once
#                                   whenever VERSION is installed (on trial, or kept), like an application
#                                   bug that shows only on some hardware (`aloft sim fleet --fail-on`)
import os
import sys
from blockdev import FileBlockDev

RESET = 75


class _Reset(BaseException):
    # Not an Exception, so boot.py's "except Exception" lets a reset through, as on a board.
    pass


def _reset():
    print("sim: reset")
    raise _Reset()


def _board():
    try:
        import json

        with open("/.aloft/config.json") as f:
            return json.load(f).get("board") or "sim"
    except (OSError, ValueError):
        return "sim"


def _unique_id(image, name):
    uid = os.getenv("ALOFT_SIM_UNIQUE_ID")
    if uid:
        return uid
    from binascii import hexlify
    from hashlib import sha256

    return "%s-%s" % (name, hexlify(sha256(image).digest()[:6]).decode())


class _BoardHooks:
    # What /lib/aloft_board.py would be on a board (aloft/board.py): the simulator's hooks, in
    # sys.modules, so every import of the agent (boot.py imports it afresh around an update of the
    # agent itself) finds them.
    pass


def _hook_agent(server, battery, image):
    name = _board()
    hooks = _BoardHooks()
    hooks.reset = _reset
    hooks.board_name = lambda: name
    hooks.unique_id = lambda: _unique_id(image, name)
    hooks.config = {"server": server} if server else {}
    if battery:
        level = int(battery)
        hooks.battery = lambda: level
    sys.modules["aloft_board"] = hooks


def _fail_on(version):
    # main.py raises while release `version` is installed, however it is started (by the agent's trial
    # boot through execfile, or by boot() below)
    import builtins
    import json

    real = execfile

    def execfile_failing(path, g):
        if path == "/main.py":
            try:
                with open("/.aloft/installed.json") as f:
                    installed = json.load(f).get("version")
            except (OSError, ValueError):
                installed = None
            if installed == version:
                raise RuntimeError("sim: this board cannot run %s (ALOFT_SIM_FAIL_ON)" % version)
        real(path, g)

    builtins.execfile = execfile_failing


def _run(path, g):
    # Like pyexec_file on a board: a missing file is skipped, an exception is printed.
    try:
        os.stat(path)
    except OSError:
        return True
    try:
        execfile(path, g)
        return True
    except Exception as e:
        sys.print_exception(e)
        return False
    except SystemExit:  # sys.exit() in the application: it finished
        return True


def boot(image):
    g = {"__name__": "__main__"}
    try:
        _hook_agent(os.getenv("ALOFT_SIM_SERVER"), os.getenv("ALOFT_SIM_BATTERY"), image)
        if os.getenv("ALOFT_SIM_FAIL_ON"):
            _fail_on(os.getenv("ALOFT_SIM_FAIL_ON"))
        _run("/boot.py", g)  # a failing boot.py does not stop main.py on a board either
        if not _run("/main.py", g):
            return 1
    except _Reset:
        return RESET
    aloft = sys.modules.get("aloft")
    result = aloft.last_result() if aloft else None
    if result == "none":
        return 0
    print("sim: last check result: %s" % result)
    return 2


def main():
    if len(sys.argv) != 2:
        print("usage: run.py IMAGE", file=sys.stderr)
        return 1
    cut = os.getenv("ALOFT_SIM_CUT_AFTER_WRITES")
    try:
        bd = FileBlockDev(sys.argv[1], int(cut or 0))
        vfs = os.VfsLfs2(bd)
    except OSError as e:
        print("sim: cannot open image %s: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    image = sys.argv[1] if sys.argv[1].startswith("/") else os.getcwd() + "/" + sys.argv[1]
    os.mount(vfs, "/")
    os.chdir("/")
    # What device/boot.py does first, done here because the hooks below read config.json before
    # boot.py runs: a change to the flash, so LittleFS finishes a rename a power cut interrupted.
    try:
        os.mkdir("/.aloft")
    except OSError:
        pass
    sys.path[:] = ["", ".frozen", "/lib"]
    try:
        return boot(image)
    finally:
        os.umount("/")
        bd.close()
        if cut is not None:
            print("sim: %d block writes" % bd.writes)


sys.exit(main())
