# What `import sys` gives the firmware of a simulated ESP32 that boots (espboot.py): the unix port's sys, but with
# sys.implementation and sys.version of the MicroPython the booted image is (py/modsys.c). espboot.py fills it in
# and puts an instance in sys.modules as sys, so every later `import sys` gets it; it stays in RAM for the run.
import sys

real = sys


class Impl:
    name = "micropython"
    version = None  # (X, Y, Z, '')
    _machine = None  # the banner's "<board> with <mcu>"
    _mpy = None
    # _build: set from 1.25 on (py/mkrules.cmake BOARD-VARIANT), absent before

    def __repr__(self):
        b = ", _build=%r" % self._build if hasattr(self, "_build") else ""
        return "(name='micropython', version=%r, _machine=%r, _mpy=%d%s)" % (self.version, self._machine, self._mpy, b)


class Sys:
    implementation = Impl()
    version = None  # "3.4.0; MicroPython vX.Y.Z on DATE"

    def __getattr__(self, n):
        return getattr(real, n)

    def __setattr__(self, n, x):
        setattr(real, n, x)
