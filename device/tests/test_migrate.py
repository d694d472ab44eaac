# From the agent before 0.3.0 to this one (docs/device.md, "From an agent before 0.3.0"), on simulated
# devices against fake_server.py. A device runs 0.2.0 as it was released (data/agent-0.2.0.tar.gz): it
# reads only format-1 manifests and keeps its installed files inline in installed.json. It is offered the
# legacy (format-1) envelope of a release that carries this agent, installs it with its own code, and
# judges this agent from /.aloft/agent on the trial boot. This agent confirms (or rolls back) that
# legacy install, rewrites the record as a file list, and from then on takes format-2 releases. A new
# agent that fails its trial is rolled back to 0.2.0 exactly as it was. A device on the released 0.3.0
# (data/agent-0.3.0.tar.gz: the same on-flash format, the agent in fewer, larger modules) installs this agent
# the same way, or is rolled back to 0.3.0 when it fails.
# (Power cuts during the migration: test_powercut.py.)
from harness import run, tempdir, test
from simulated import Device, Server, checkout_agent, codes, output, released_agent
from aloft import tree

TMP = tempdir("migrate")
SERVER = Server(TMP)
OLD = released_agent(TMP)
SETTINGS = {"retries": 1, "confirm_wait": 1}
NEW_AGENT = checkout_agent("0.4.0")


def app(n, **extra):
    files = {"main.py": b"print('app %d ok')\n" % n, "lib/util.py": b"N = %d\n" % n}
    files.update(extra)
    return files


def publish(name, sequence, files):
    SERVER.publish(name, "%d.0.0" % sequence, sequence, files)
    return SERVER.releases()[name]


def offer(dev, name):
    SERVER.post("/_ctl", {"device": dev.id, "release": name})


def device(name, agent=OLD):
    tree.makedirs(TMP + "/" + name)
    dev = Device(SERVER, TMP + "/" + name, agent_src=agent, id=name, **SETTINGS)
    dev.id = name
    return dev


def checkins(dev):
    return SERVER.get("/_log?id=" + dev.id)["checkins"]


def events(dev, since=0):
    return [(e["type"], e["sequence"], e.get("reason", "")) for e in SERVER.get("/_log?id=" + dev.id)["events"][since:]]


def only(files, prefix):
    return dict((p, h) for p, h in files.items() if p.startswith(prefix))


R1 = publish("m1", 1, app(1))
R2 = publish("m2", 2, dict(app(2), **NEW_AGENT))
R3 = publish("m3", 3, app(3, **{"lib/pkg/__init__.py": b"", "lib/pkg/mod.py": b"X = 3\n"}))  # an empty file: 0.2.0 cannot install it
BAD = publish("m4", 4, dict(app(4), **NEW_AGENT, **{"main.py": b"raise RuntimeError('app 4 is broken')\n"}))
DEV = device("mig-1")
OLD_AGENT = DEV.agent()


@test
def the_released_agent_installs_a_format_1_release():
    offer(DEV, "m1")
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    assert DEV.app() == R1
    rec = DEV.state("installed.json")
    assert rec["files"] == dict((p[1:], h) for p, h in R1.items()), rec  # its own record, files inline
    c = checkins(DEV)[-1]
    assert c["agent"] == "0.2.0" and "format" not in c, c


@test
def it_installs_this_agent_which_confirms_and_rewrites_the_record():
    n = len(SERVER.log()["downloads"])
    k = len(events(DEV))
    offer(DEV, "m2")
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    install, trial, plain = [o for _, o in boots]
    assert "installed 2.0.0" in install, install
    # 0.2.0, kept in /.aloft/agent, counts the trial boot; then this agent runs the release and confirms it
    assert trial.index("2.0.0 on trial, boot 1 of 3") < trial.index("agent 0.4.0 loaded") < trial.index("app 2 ok"), trial
    assert "2.0.0 confirmed" in trial and "installed record of 2.0.0 rewritten for this agent" in trial + plain, trial + plain
    assert DEV.agent() == only(R2, "/lib/aloft/") and DEV.app() == dict((p, h) for p, h in R2.items() if not p.startswith("/lib/aloft/"))
    assert events(DEV, k) == [("downloading", 2, ""), ("installed", 2, ""), ("confirmed", 2, "")], events(DEV, k)
    # the release came as format 1 (zlib map and /zlib blobs), the record is a file list now
    assert all(not d["list"] for d in SERVER.log()["downloads"][n:])
    rec = DEV.state("installed.json")
    assert "files" not in rec and rec["sequence"] == 2 and DEV.installed() == dict((p[1:], h) for p, h in R2.items() if not p.startswith("/lib/aloft/")), rec
    for name in ("journal.json", "journal", "trial.json"):
        assert DEV.state(name) is None, name
    assert not [p for p in DEV.files() if p.startswith("/.aloft/agent")]
    c = checkins(DEV)[-1]
    assert c["agent"] == "0.4.0" and c["format"] == 2 and c["sequence"] == 2, c


@test
def then_it_takes_format_2_releases():
    offer(DEV, "m3")
    boots = DEV.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    assert DEV.app() == dict((p, h) for p, h in R3.items())
    assert DEV.agent() == only(R2, "/lib/aloft/")  # a release without agent files keeps it
    assert "app 3 ok" in boots[2][1]


@test
def a_new_agent_that_fails_its_trial_is_rolled_back_to_the_released_one():
    dev = device("mig-2")
    offer(dev, "m1")
    assert codes(dev.run()) == [75, 75, 0]
    offer(dev, "m4")
    boots = dev.run()
    out = output(boots)
    assert codes(boots)[:2] == [75, 75] and codes(boots)[-1] == 0, out
    assert "rolling back 4.0.0: main.py raised RuntimeError: app 4 is broken" in out, out
    assert dev.agent() == OLD_AGENT and dev.app() == R1, dev.agent()
    rec = dev.state("installed.json")
    assert rec == {"version": "1.0.0", "sequence": 1, "files": dict((p[1:], h) for p, h in R1.items()), "rejected": 4}, rec
    assert not dev.side_files() and not [p for p in dev.files() if p.startswith("/.aloft/agent") or p.startswith("/.aloft/lists")]
    assert ("rolled_back", 4, "main.py raised RuntimeError: app 4 is broken") in events(dev)
    c = checkins(dev)[-1]
    assert c["agent"] == "0.2.0" and c["rejected"] == 4 and c["sequence"] == 1, c
    boots = dev.run()  # and it carries on as before
    assert codes(boots) == [0] and "app 1 ok" in output(boots), output(boots)


@test
def a_new_agent_that_never_confirms_is_rolled_back_by_the_released_one():
    dev = device("mig-3")
    offer(dev, "m1")
    assert codes(dev.run()) == [75, 75, 0]
    offer(dev, "m2")
    boots = dev.run(env="ALOFT_SIM_SERVER=http://127.0.0.1:9 ", boots=1)  # installed; then the server is gone
    assert codes(boots) == [2] and "check-in" in output(boots), output(boots)  # no server: nothing offered yet
    offer(dev, "m2")
    assert codes(dev.run(boots=1)) == [75]  # installed, with the server there
    boots = dev.run(env="ALOFT_SIM_SERVER=http://127.0.0.1:9 ")  # three trial boots without a check-in, then 0.2.0 rolls back
    out = output(boots)
    assert "rolling back 2.0.0: not confirmed after 3 boots" in out, out
    assert dev.agent() == OLD_AGENT and dev.app() == R1
    assert dev.state("installed.json")["files"] == dict((p[1:], h) for p, h in R1.items())


OLD3 = released_agent(TMP, "0.3.0")
R5 = publish("m5", 5, dict(app(5), **checkout_agent("0.3.1")))
R7 = publish("m7", 7, app(7))
R6 = publish("m6", 6, dict(app(6), **checkout_agent("0.3.2", edit={"__init__.py": lambda b: b + b"raise ImportError('broken on purpose')\n"})))


@test
def a_device_on_the_released_0_3_0_installs_this_agent():
    dev = device("mig-4", OLD3)
    offer(dev, "m1")
    assert codes(dev.run()) == [75, 75, 0]
    assert checkins(dev)[-1]["agent"] == "0.3.0"
    offer(dev, "m5")
    boots = dev.run()
    assert codes(boots) == [75, 75, 0], output(boots)
    trial = boots[1][1]
    # 0.3.0, kept in /.aloft/agent, counts the trial boot; then this agent runs the release and confirms it
    assert trial.index("5.0.0 on trial, boot 1 of 3") < trial.index("agent 0.3.1 loaded") < trial.index("app 5 ok"), trial
    assert "5.0.0 confirmed" in trial, trial
    assert dev.agent() == only(R5, "/lib/aloft/") and dev.app() == dict((p, h) for p, h in R5.items() if not p.startswith("/lib/aloft/"))
    assert not dev.side_files() and not [p for p in dev.files() if p.startswith("/.aloft/agent")]
    c = checkins(dev)[-1]
    assert c["agent"] == "0.3.1" and c["sequence"] == 5, c
    offer(dev, "m7")  # and it takes the next release, keeping the agent
    boots = dev.run()
    assert codes(boots) == [75, 75, 0] and "app 7 ok" in boots[2][1], output(boots)
    assert dev.agent() == only(R5, "/lib/aloft/")


@test
def a_new_agent_that_fails_its_trial_is_rolled_back_to_the_released_0_3_0():
    dev = device("mig-5", OLD3)
    offer(dev, "m1")
    assert codes(dev.run()) == [75, 75, 0]
    old = dev.agent()
    offer(dev, "m6")
    boots = dev.run()
    out = output(boots)
    assert "the new agent failed: ImportError: broken on purpose" in out, out
    assert dev.agent() == old and dev.app() == R1, dev.agent()
    assert dev.state("installed.json")["rejected"] == 6 and not dev.side_files()
    c = checkins(dev)[-1]
    assert c["agent"] == "0.3.0" and c["rejected"] == 6 and c["sequence"] == 1, c


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
