#!/usr/bin/env python3
"""Serves the emulated Pico's USB serial console on a pseudo-terminal.

usage: emu/pty-bridge.py LINK [run.mjs options, e.g. --uf2 F]

Starts `node run.mjs --bridge` (the firmware in rp2040js), makes a pseudo-terminal and
links LINK (e.g. /tmp/ttyPICO) to it, then copies bytes both ways until the emulator
exits or Ctrl-C. Host tools that talk to a real board's /dev/ttyACM0 can open LINK
instead, e.g. `vae-export serial --port /tmp/ttyPICO`. A pseudo-terminal has no DTR line:
the console is already open (the bridge raised DTR over the emulated USB).
"""
import os
import pty
import select
import signal
import subprocess
import sys
import tty

here = os.path.dirname(os.path.abspath(__file__))


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    link = sys.argv[1]
    # `kill` (SIGTERM) ends the bridge like Ctrl-C: the emulator stops, LINK goes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    master, slave = pty.openpty()
    tty.setraw(slave)
    if os.path.islink(link):
        os.unlink(link)
    os.symlink(os.ttyname(slave), link)
    node = subprocess.Popen(
        ["node", os.path.join(here, "run.mjs"), "--bridge", *sys.argv[2:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    print(f"{link} -> {os.ttyname(slave)}: the emulated Pico's serial console", flush=True)
    out = node.stdout.fileno()
    try:
        while node.poll() is None:
            ready, _, _ = select.select([master, out], [], [], 0.5)
            if out in ready:
                data = os.read(out, 4096)
                if not data:
                    break
                os.write(master, data)
            if master in ready:
                # The slave stays open here, so reading the master does not fail when a
                # tool closes the port.
                node.stdin.write(os.read(master, 4096))
                node.stdin.flush()
    except KeyboardInterrupt:
        pass
    finally:
        node.kill()
        os.unlink(link)
    return 0


if __name__ == "__main__":
    sys.exit(main())
