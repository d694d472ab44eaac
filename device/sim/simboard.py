# The simulated board's hooks: what /lib/aloft_board.py is on a board (docs/device.md, "Board hooks").
# simsetup.py imports this before the image hides the host's files, sets it up from the environment and puts it in
# sys.modules as aloft_board, so every import of the agent (boot.py imports it afresh around an update of the
# agent) finds it. It stays in RAM for the whole run, as a board's hook module would.
import os

config = {}  # wins over config.json: {"server": ALOFT_SIM_SERVER} when that is set
image = None  # the image's absolute path
level = None  # ALOFT_SIM_BATTERY; without it simsetup.py removes battery(): a board without a gauge


class Reset(BaseException):
    # Not an Exception, so boot.py's "except Exception" lets a reset through, as on a board.
    pass


def reset():
    print("sim: reset")
    raise Reset()


def board_name():
    # The config's board, else "sim".
    try:
        import json

        with open("/.aloft/config.json") as f:
            return json.load(f).get("board") or "sim"
    except (OSError, ValueError):
        return "sim"


def unique_id():
    # ALOFT_SIM_UNIQUE_ID, else the board's name and 12 hex digits of the SHA-256 of the image's absolute path.
    from binascii import hexlify
    from hashlib import sha256

    return os.getenv("ALOFT_SIM_UNIQUE_ID") or "%s-%s" % (board_name(), hexlify(sha256(image).digest()[:6]).decode())


def battery():
    return level
