# Flash helpers shared by the agent. Every rename, removal and folder the agent makes goes through here, so
# test_install.py can cut the power before each one (test_powercut.py cuts any block write, file contents
# included). State is replaced by temp file + rename, which LittleFS does atomically, so a power cut leaves
# either the old or the new file.
import os
from micropython import const

_DIR = const(0x4000)


def stat(path):
    try:
        return os.stat(path)
    except OSError:
        return None


def is_dir(path):
    st = stat(path)
    return st is not None and st[0] & _DIR != 0


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def rename(a, b):
    os.rename(a, b)


def makedirs(path):
    # Every folder of an absolute path, from the root down.
    if not path.strip("/"):
        return
    i = 0
    while True:
        i = path.find("/", i + 1)
        if i < 0:
            i = len(path)
        if not is_dir(path[:i]):
            os.mkdir(path[:i])
        if i == len(path):
            return


def rmtree(path):
    st = stat(path)
    if st is None:
        return
    if st[0] & _DIR:
        for entry in os.ilistdir(path):
            rmtree(path + "/" + entry[0])
        os.rmdir(path)
    else:
        os.remove(path)


def prune(path):
    # Remove the folders above path that are now empty, stopping at the first one that is not.
    # (LittleFS's rmdir removes files too, hence the is_dir check.)
    while True:
        path = path[: path.rfind("/")]
        if not path or not is_dir(path):
            return
        try:
            os.rmdir(path)
        except OSError:
            return


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
