"""Runs a command and reports the CPU time of its whole process tree as JSON in the file named by argv[1].

Ansible's ControlPersist masters daemonise out of ansible-playbook's tree, so waiting for ansible-playbook alone
would miss the ssh processes doing the crypto. As a child subreaper (Linux prctl) this process inherits them:
once the play ends it stops the ones still persisting, reaps everything and reads RUSAGE_CHILDREN.
Usage: python3 run-reaped.py RESULT.json COMMAND [ARG...]
"""
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def main():
    result_path, command = sys.argv[1], sys.argv[2:]
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed: the CPU of daemonised ssh masters would be lost")
    started = time.monotonic()
    code = subprocess.call(command)
    seconds = time.monotonic() - started
    for pid in children_of(os.getpid()):  # persisting ssh masters, adopted by us
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    while True:
        try:
            os.wait()
        except ChildProcessError:
            break
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(result_path, "w") as out:
        json.dump({"exitCode": code, "seconds": seconds, "cpuSeconds": usage.ru_utime + usage.ru_stime}, out)
    sys.exit(code)


main()
