# Greenhouse monitor, release 2: adds an alert threshold in a package (lib/climate/, whose __init__.py is
# empty, as most are); units.py is gone.
import aloft
from sensor import read
from climate.alerts import check

VERSION = "2.0.0"

t, h = read()
print("greenhouse %s: %.1f C, %d %% humidity%s" % (VERSION, t, h, check(t, h)))
aloft.poll()
