# Folders: every folder of a path made, a folder removed with all below it, the empty folders above a path
# pruned. Loaded by the steps that change folders, so the always-loaded fs.py stays small. Through fs.os, like
# every change to the flash (test_install.py cuts the power there).
from . import fs


def is_dir(path):
    st = fs.stat(path)
    return st is not None and st[0] & fs.FOLDER != 0


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
            fs.os.mkdir(path[:i])
        if i == len(path):
            return


def rmtree(path):
    st = fs.stat(path)
    if st is None:
        return
    if st[0] & fs.FOLDER:
        for entry in fs.os.ilistdir(path):
            rmtree(path + "/" + entry[0])
        fs.os.rmdir(path)
    else:
        fs.os.remove(path)


def prune(path):
    # Remove the folders above path that are now empty, stopping at the first one that is not.
    # (LittleFS's rmdir removes files too, hence the is_dir check.)
    while True:
        path = path[: path.rfind("/")]
        if not path or not is_dir(path):
            return
        try:
            fs.os.rmdir(path)
        except OSError:
            return
