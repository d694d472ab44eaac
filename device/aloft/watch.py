# A trial boot: the new release's main.py runs under the agent's eye (this module is loaded only then). An
# exception before the release is confirmed rolls it back; a clean start-up plus a check-in confirms it
# (confirm "auto"); the board resets afterwards either way, so main.py does not run a second time after
# boot.py.
# pack: zlib
import time
import aloft


def run(g):
    # This boot's release is on trial: check in (unless "boot_check" is false), run main.py in the globals g,
    # decide, reset. Does not return unless the reset hook does.
    import os
    import sys
    from . import board, config

    cfg = config.load()
    config = None
    aloft._trial = {
        "up": None,  # ticks_ms when main.py started
        "ok": False,  # a check-in was answered
        "done": False,  # main.py returned
        "auto": cfg.get("confirm", "auto") != "manual",
        "after": int(cfg.get("confirm_after", 10)) * 1000,
    }
    if cfg.get("boot_check", True):
        aloft.check()
    try:
        os.stat("/main.py")
        present = True
    except OSError:
        present = False
    aloft._trial["up"] = time.ticks_ms()
    failed = None
    before = list(sys.modules), list(g)
    try:
        if present:
            print("aloft: running main.py on trial")
            try:
                execute = execfile
            except NameError:  # ports without execfile: the source is small enough to hold

                def execute(path, g):
                    with open(path) as f:
                        exec(f.read(), g)

            execute("/main.py", g)
    except SystemExit:
        pass
    except Exception as e:
        sys.print_exception(e)
        failed = "main.py raised %s: %s" % (type(e).__name__, e)
        e = None
    if failed is not None and aloft._trial is not None:  # not confirmed yet: the release failed its start-up
        # The application's modules, its exception and the agent's own modules are let go before the rollback
        # loads its code: on a trial boot the heap is the application's as much as the agent's.
        aloft._trial = None
        for name in [n for n in sys.modules if n not in before[0]]:
            del sys.modules[name]  # del, not pop: a popped value stays on the frame's stack, seen by the GC
        for name in [n for n in g if n not in before[1]]:
            del g[name]
        before = None
        from .core import unload

        unload()
        unload = None
        try:
            from .rollback import on_trial

            on_trial(failed)
        except Exception as e:  # a full heap: trial.json says "rollback" and the next boot finishes it first
            sys.print_exception(e)
            print("aloft: the rollback did not finish; the next boot finishes it")
        board.reset()
        return
    if aloft._trial is not None:
        aloft._trial["done"] = True
        _settle(cfg)
    board.reset()


def _settle(cfg):
    # main.py returned on trial without confirming. With confirm "auto", keep trying to check in for
    # confirm_wait seconds; the release is confirmed at the first answer. Otherwise the boot counter decides at
    # the coming boots.
    if not aloft._trial["auto"]:
        print("aloft: main.py returned without aloft.confirm(); the release stays on trial")
        return
    aloft._healthy()
    end = time.ticks_add(time.ticks_ms(), int(cfg.get("confirm_wait", 30)) * 1000)
    pause = int(float(cfg.get("backoff", 2)) * 1000)
    while aloft._trial is not None and not aloft._trial["ok"]:
        aloft.check()  # confirms at an answer
        left = time.ticks_diff(end, time.ticks_ms())
        if aloft._trial is None or left <= 0:
            break
        from .backoff import jitter

        time.sleep_ms(min(jitter(pause), left))
        pause = min(pause * 2, 60000)
    if aloft._trial is not None:
        print("aloft: no check-in from the release on trial; it stays on trial")
