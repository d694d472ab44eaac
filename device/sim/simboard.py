# The simulated board's hooks: what /lib/aloft_board.py is on a board (docs/device.md, "Board hooks").
# run.py imports this before the image hides the host's files and puts it in sys.modules as aloft_board,
# so every import of the agent (boot.py imports it afresh around an update of the agent) finds it. It
# stays in RAM for the whole run, as a board's hook module would: anything it needs only on request
# (the config's board, the image's hash) is worked out when asked.
import os
import sys


class Reset(BaseException):
    # Not an Exception, so boot.py's "except Exception" lets a reset through, as on a board.
    pass


def reset():
    print("sim: reset")
    raise Reset()


def board_name():
    # The config's board, else "sim". The agent asks only when config.json has no board.
    try:
        import json

        with open("/.aloft/config.json") as f:
            return json.load(f).get("board") or "sim"
    except (OSError, ValueError):
        return "sim"


def unique_id():
    # ALOFT_SIM_UNIQUE_ID, else the board's name and 12 hex digits of the SHA-256 of the image's absolute path.
    if os.getenv("ALOFT_SIM_UNIQUE_ID"):
        return os.getenv("ALOFT_SIM_UNIQUE_ID")
    from binascii import hexlify
    from hashlib import sha256

    return "%s-%s" % (board_name(), hexlify(sha256(_image).digest()[:6]).decode())


# Read once, at import, while the host's working folder is still the current one.
_image = sys.argv[1] if sys.argv[1].startswith("/") else os.getcwd() + "/" + sys.argv[1]
config = {"server": os.getenv("ALOFT_SIM_SERVER")} if os.getenv("ALOFT_SIM_SERVER") else {}  # wins over config.json

if os.getenv("ALOFT_SIM_BATTERY"):
    _level = int(os.getenv("ALOFT_SIM_BATTERY"))

    def battery():
        return _level


if os.getenv("ALOFT_SIM_FAIL_ON"):
    # This board cannot run that release: main.py raises while it is installed, however it is started (by the
    # agent's trial boot, or by run.py), like an application bug that shows only on some hardware.
    import builtins

    _execfile = execfile

    def _failing(path, g):
        if path == "/main.py":
            try:
                import json

                with open("/.aloft/installed.json") as f:
                    installed = json.load(f).get("version")
            except (OSError, ValueError):
                installed = None
            if installed == os.getenv("ALOFT_SIM_FAIL_ON"):
                raise RuntimeError("sim: this board cannot run %s (ALOFT_SIM_FAIL_ON)" % installed)
        _execfile(path, g)

    builtins.execfile = _failing
