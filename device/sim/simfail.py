# ALOFT_SIM_FAIL_ON=VERSION (run.py): this board cannot run that release. main.py raises while it is installed,
# however it is started (by the agent's trial boot, or by run.py), like an application bug that shows only on
# some hardware (`aloft sim fleet --fail-on`).
import builtins
import os

_execfile = execfile


def _failing(path, g):
    if path == "/main.py":
        try:
            import json

            with open("/.aloft/installed.json") as f:
                installed = json.load(f).get("version")
        except (OSError, ValueError):
            installed = None
        if installed == os.getenv("ALOFT_SIM_FAIL_ON"):
            raise RuntimeError("sim: this board cannot run %s (ALOFT_SIM_FAIL_ON)" % installed)
    _execfile(path, g)


builtins.execfile = _failing
