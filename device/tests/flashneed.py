# The agent's pre-flight figure for one update, on a real LittleFS (the unix port's VfsLfs2 over a RAM flash), for
# FlashNeedAgreementTests (Tests/DeviceAgentTests), which checks AloftCore's FlashNeed gives the same:
#   micropython device/tests/flashneed.py CASE
# CASE holds "a <size> <name>" lines (the agent's files on the board), then "installed", then the installed release's file
# list, then "new", then the new one's. The board gets the agent and the installed release's files (their sizes; the
# bytes do not matter to the plan), the installed list as the agent keeps it, the new list where the agent stages it;
# then plan.write (plan.py) runs and the script prints "need N" and "plan N" (the plan's bytes).
import sys

import harness
import os
from aloft import config, fs, tree
from aloft.where import LISTS


def main(case):
    agent, installed, new, part = [], [], [], None
    with open(case) as f:
        for line in f:
            if line.startswith("a "):
                size, name = line[2:-1].split(" ", 1)
                agent.append((name, int(size)))
            elif line in ("installed\n", "new\n"):
                part = installed if line == "installed\n" else new
            else:
                part.append(line)
    bd = harness.RamFlash(2048)  # 8 MiB: room for any case the test makes
    os.VfsLfs2.mkfs(bd)
    harness.mount_flash(bd)
    tree.makedirs(config.AGENT)
    for name, size in agent:
        harness.write(config.AGENT + "/" + name, b"#" * size)  # not a release's bytes: a changed file
    for line in installed:
        sp = line.find(" ", 65)
        harness.write("/" + line[sp + 1 : -1], bytes(int(line[65:sp])))
    tree.makedirs(LISTS)
    tree.makedirs(config.STAGE)
    text = "".join(installed).encode()
    name = ""
    if installed:
        from aloft.lists import digest

        harness.write(LISTS + "/list.tmp", text)
        name = digest(LISTS + "/list.tmp")
        fs.rename(LISTS + "/list.tmp", LISTS + "/" + name)
    new_list = config.STAGE + "/new.lst"
    harness.write(new_list, "".join(new).encode())
    from aloft import plan

    with open(config.STAGE + "/plan", "w") as out:
        need, touched = plan.write(out, {"list": name} if name else {}, new_list)
    print("need", need)
    print("plan", os.stat(config.STAGE + "/plan")[6])


main(sys.argv[1])
