# Trial boots on a simulated device against fake_server.py: a release whose main.py raises, one that
# never confirms (a hard crash before it could), "manual" confirmation, a looping main.py confirmed
# by aloft.poll(), and the rejected sequence afterwards. Ends with the whole cycle, rollback
# included, in a 48 KiB heap (the agent as source: 47K or 48K is the least its rollback takes on the
# trial boot on the 64-bit unix port), an application's RAM let go before the rollback, and a rollback
# the heap cut short finished by the next boot.
from harness import run, tempdir, test
from aloft import tree
from simulated import Device, Server, codes, output

TMP = tempdir("trial")
SERVER = Server(TMP)

APP = b'import lib.ver\nprint("app", lib.ver.V)\n'


def release(name, seq, main=APP, extra=None):
    files = {"main.py": main, "lib/ver.py": b"V = %d\n" % seq}
    files.update(extra or {})
    SERVER.publish(name, "%d.0.0" % seq, seq, files)
    return SERVER.releases()[name]


T1 = release("t1", 21)
T2 = release("t2", 22, b'import lib.ver\nprint("app", lib.ver.V)\nraise ValueError("boom in %d" % lib.ver.V)\n')
T3 = release("t3", 23)
# A hard crash (think watchdog or a fault) before anything could confirm: the process dies.
T4 = release("t4", 24, b'import os\nprint("app crashes hard")\nos.system("kill -9 $PPID")\n')
T5 = release("t5", 25, b'print("app 25 returns without confirming")\n')
T6 = release("t6", 26, b'import aloft\nprint("app 26 confirms:", aloft.confirm())\n')
T7 = release(
    "t7",
    27,
    b'import aloft, time\nfor i in range(60):\n    aloft.poll()\n    if aloft._trial is None:\n        print("app 27 confirmed while looping after", i)\n        break\n    time.sleep_ms(100)\n',
)
T8 = release("t8", 28)
T9 = release("t9", 29, b'raise OSError("no sensor")\n')
# 12 KB held in main.py's globals, then 12 KB held where the agent cannot let go of it (the aloft package).
HOG = b"hog = [bytearray(1000) for _ in range(12)]\n"
T10 = release("t10", 30, HOG + b'raise OSError("no sensor")\n')
T11 = release("t11", 31, b"import aloft\naloft._" + HOG + b'raise OSError("no sensor")\n')

DEV = Device(SERVER, TMP, confirm_after=1)


def events(since):
    return [(e["type"], e["sequence"], e.get("reason")) for e in SERVER.log()["events"][since:]]


def settle(dev, want, heap=None):
    boots = dev.run(heap=heap)
    assert codes(boots) == want, "exits %r, expected %r:\n%s" % (codes(boots), want, output(boots))
    return output(boots)


@test
def a_good_release_installs_and_is_confirmed():
    SERVER.offer("t1")
    settle(DEV, [75, 75, 0])
    assert DEV.app() == T1, (DEV.app(), T1)


@test
def main_py_raising_on_trial_rolls_back_and_the_sequence_is_rejected():
    k = len(SERVER.log()["events"])
    SERVER.offer("t2")
    out = settle(DEV, [75, 75, 0])
    assert "ValueError: boom in 22" in out and "rolling back 22.0.0: main.py raised ValueError: boom in 22" in out, out
    assert DEV.app() == T1, DEV.app()
    assert DEV.state("installed.json")["rejected"] == 22
    got = events(k)
    assert got[:2] == [("downloading", 22, None), ("installed", 22, None)], got
    # queued across the reset, delivered at the next check-in
    assert ("rolled_back", 22, "main.py raised ValueError: boom in 22") in got, got
    assert DEV.state("outbox.json") is None
    # the server still offers it: the device does not take it again, and is idle
    n = len(SERVER.log()["downloads"])
    out = settle(DEV, [0])
    assert "sequence 22 was rolled back on this device" in out and "app 21" in out, out
    assert SERVER.log()["checkins"][-1]["rejected"] == 22
    assert len(SERVER.log()["downloads"]) == n


@test
def a_newer_release_after_a_rejected_one_installs():
    SERVER.offer("t3")
    settle(DEV, [75, 75, 0])
    assert DEV.app() == T3 and DEV.state("installed.json")["rejected"] == 22


@test
def a_release_that_never_confirms_is_rolled_back_after_three_boots():
    k = len(SERVER.log()["events"])
    SERVER.offer("t4")
    got = [DEV.boot()[0] for _ in range(4)]
    assert got == [75, 137, 137, 137], got  # install, then three trial boots that die
    code, out = DEV.boot()
    assert "rolling back 24.0.0: not confirmed after 3 boots" in out, out
    assert code == 0 and "app 23" in out, (code, out)  # the old release runs at once
    assert DEV.app() == T3
    assert ("rolled_back", 24, "not confirmed after 3 boots") in events(k), events(k)


@test
def manual_confirmation_waits_for_aloft_confirm():
    tree.makedirs(TMP + "/manual")
    dev = Device(SERVER, TMP + "/manual", confirm="manual")
    SERVER.offer("t3")  # its main.py never calls aloft.confirm()
    out = settle(dev, [75, 75, 75, 75, 0])  # install, three trial boots, then one too many
    assert out.count("main.py returned without aloft.confirm()") == 3, out
    assert "rolling back 23.0.0: not confirmed after 3 boots" in out, out
    assert dev.app() == {} and dev.state("installed.json")["rejected"] == 23  # back to nothing installed
    k = len(SERVER.log()["events"])
    SERVER.offer("t6")
    out = settle(dev, [75, 75, 0])
    assert "app 26 confirms: True" in out and "26.0.0 confirmed" in out, out
    assert dev.app() == T6 and dev.state("journal") is None
    assert ("confirmed", 26, None) in events(k)


@test
def auto_confirmation_needs_a_check_in_from_the_new_release():
    # main.py returns, but the server is unreachable on the trial boot: the release stays on trial
    SERVER.offer("t5")
    assert DEV.boot()[0] == 75
    code, out = DEV.boot(env="ALOFT_SIM_SERVER=http://127.0.0.1:9 ")
    assert code == 75 and "no check-in from the release on trial" in out, out
    assert DEV.state("trial.json")["boots"] == 1 and DEV.state("journal") is not None
    out = settle(DEV, [75, 0])  # server back: confirmed at the next trial boot
    assert "25.0.0 on trial, boot 2 of 3" in out and "25.0.0 confirmed" in out, out
    assert DEV.app() == T5


@test
def a_looping_main_py_is_confirmed_by_poll_after_the_start_up_window():
    SERVER.offer("t7")
    out = settle(DEV, [75, 75, 0])
    assert "app 27 confirmed while looping after" in out, out
    i = int(out.split("confirmed while looping after ")[1].split()[0])
    assert 8 <= i <= 20, i  # confirm_after is 1 s, the loop sleeps 0.1 s
    assert DEV.app() == T7


@test
def the_whole_cycle_with_a_rollback_in_a_48k_heap():
    SERVER.offer("t8")
    settle(DEV, [75, 75, 0], heap="48K")
    assert DEV.app() == T8
    SERVER.offer("t9")
    out = settle(DEV, [75, 75, 0], heap="48K")
    assert "rolling back 29.0.0: main.py raised OSError: no sensor" in out, out
    assert DEV.app() == T8


@test
def the_application_s_ram_is_let_go_before_the_rollback():
    # 56K less the 12 KB main.py holds would be too little for the rollback (see above).
    SERVER.offer("t10")
    out = settle(DEV, [75, 75, 0], heap="56K")
    assert "rolling back 30.0.0: main.py raised OSError: no sensor" in out, out
    assert "did not finish" not in out and "MemoryError" not in out, out
    assert DEV.app() == T8


@test
def a_rollback_the_heap_cuts_short_is_finished_by_the_next_boot():
    SERVER.offer("t11")
    out = settle(DEV, [75, 75, 0], heap="56K")
    assert "MemoryError" in out and "the rollback did not finish; the next boot finishes it" in out, out
    after = out.split("the next boot finishes it")[1]
    assert "rolling back 31.0.0: main.py raised OSError: no sensor" in after and "app 28" in after, out
    assert DEV.app() == T8 and DEV.state("trial.json") is None, DEV.state("trial.json")
    assert ("rolled_back", 31, "main.py raised OSError: no sensor") in events(0)


try:
    run()
finally:
    SERVER.quit()
    tree.rmtree(TMP)
