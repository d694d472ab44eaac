# The stage after a plan (plan.py): it holds downloads for one release, named in stage/target. For another
# one, what the plan puts moves to a new stage (renames out of the stage are safe, see journal.py) and the
# rest goes.
from . import config, fs, tree


def run(target):
    # Keep in the stage only what the plan puts, for the release whose file list has SHA-256 target.
    tag = config.STAGE + "/target"
    try:
        with open(tag) as f:
            if f.read() == target:
                return
    except OSError:
        pass
    keep = config.STAGE + ".new"
    tree.rmtree(keep)
    tree.makedirs(keep)
    with open(config.STAGE + "/plan") as f:
        while True:
            line = f.readline()
            if not line:
                break
            if line[0] == "p":
                sha, _, _, path = line[2:-1].split(" ", 3)
                name = config.staged(sha, path)
                for side in ("", ".part"):
                    if fs.stat(name + side) is not None:
                        fs.rename(name + side, keep + name[len(config.STAGE) :] + side)
    for name in (config.STAGE + "/plan", config.staged_list(target)):
        fs.rename(name, keep + name[len(config.STAGE) :])
    with open(keep + "/target", "w") as f:
        f.write(target)
    tree.rmtree(config.STAGE)
    fs.rename(keep, config.STAGE)
