# ALOFT_SIM_NO_RAM_FOR=MODULE (run.py): this board never has the RAM to load MODULE (a stage, e.g. aloft.plan): the
# import by that name raises MemoryError, where compiling it in a heap too full would. Loaded only then.
import builtins
import os

_import = builtins.__import__
_name = os.getenv("ALOFT_SIM_NO_RAM_FOR")


def _importing(name, *args):
    if name == _name:
        raise MemoryError("memory allocation failed (ALOFT_SIM_NO_RAM_FOR=%s)" % name)
    return _import(name, *args)


builtins.__import__ = _importing
