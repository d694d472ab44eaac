# Greenhouse monitor, release 2: adds an alert threshold; units.py is gone, alerts.py is new.
import aloft
from sensor import read
from alerts import check

VERSION = "2.0.0"

t, h = read()
print("greenhouse %s: %.1f C, %d %% humidity%s" % (VERSION, t, h, check(t, h)))
aloft.poll()
