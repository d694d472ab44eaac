# Flash helpers shared by the agent. Every rename, removal and folder the agent makes goes through this module's
# os (tree.py's folders too), so test_install.py can cut the power before each one (test_powercut.py cuts any
# block write, file contents included). State is replaced by temp file + rename, which LittleFS does atomically,
# so a power cut leaves either the old or the new file.
import os
from micropython import const

FOLDER = const(0x4000)  # the folder bit of os.stat()'s mode (tree.py)


def stat(path):
    try:
        return os.stat(path)
    except OSError:
        return None


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def rename(a, b):
    os.rename(a, b)


def feed(path, h, buf):
    # The bytes of path fed to the hash h through buf; returns how many (0: no such file).
    n = 0
    try:
        with open(path, "rb") as f:
            while True:
                k = f.readinto(buf)
                if not k:
                    return n
                h.update(buf if k == len(buf) else buf[:k])
                n += k
    except OSError:
        return n


def read_json(path):
    import json

    with open(path) as f:
        return json.load(f)


def write_json(path, value):
    import json

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f)
    os.rename(tmp, path)
