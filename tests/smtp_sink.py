#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd).

Usage: smtp_sink.py PORT OUTDIR
Accepts mail on 127.0.0.1:PORT and writes each message to OUTDIR as a numbered .eml file; answers 550 (permanent)
to recipients whose address starts with "reject". Prints "ready" once it listens.
"""
import itertools
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(self.outdir, f"{next(self.counter):04d}.eml")
        with open(path + ".part", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(path + ".part", path)
        return "250 Message accepted for delivery"


if __name__ == "__main__":
    port, outdir = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(outdir), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)
