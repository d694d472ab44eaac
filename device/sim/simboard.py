# The simulated board's hooks: what /lib/aloft_board.py is on a board (docs/device.md, "Board hooks").
# simsetup.py imports this before the image hides the host's files, sets it up from the environment and puts it in
# sys.modules as aloft_board, so every import of the agent (boot.py imports it afresh around an update of the
# agent) finds it. It stays in RAM for the whole run, as a board's hook module would.
config = {}  # wins over config.json: {"server": ALOFT_SIM_SERVER} when that is set
level = None  # ALOFT_SIM_BATTERY; without it simsetup.py removes battery(): a board without a gauge
uid = None  # what unique_id() says (simsetup.py); an enrolled device has no unique_id()


class Reset(BaseException):
    # Not an Exception, so boot.py's "except Exception" lets a reset through, as on a board.
    pass


def reset():
    print("sim: reset")
    raise Reset()


def board_name():
    # Asked only when config.json names no board.
    return "sim"


def unique_id():
    return uid


def battery():
    return level
