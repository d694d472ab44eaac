import sys
sys.argv[0] = "/work/dev/device/tests/test_install.py"
exec(open("/work/dev/device/tests/test_install.py").read().replace("\nrun()\n", "\n"))
j = device_v1()
print(ops(j))
cut(journal.apply, 9, j)
print(sorted(p for p in tree() if not p.startswith("/.aloft")))
trial.undo(j)
print(sorted(p for p in tree() if not p.startswith("/.aloft")))
