# Greenhouse monitor, release 1: reads the sensor and prints a line.
import aloft
from sensor import read

VERSION = "1.0.0"

t, h = read()
print("greenhouse %s: %.1f C, %d %% humidity" % (VERSION, t, h))
# A real board would loop forever here, calling aloft.poll() between readings.
aloft.poll()
