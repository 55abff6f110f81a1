#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd).

Usage: smtp_sink.py PORT OUTDIR [DELAY_MS]
Accepts mail on 127.0.0.1:PORT and writes each message to OUTDIR as a numbered .eml file; answers 550 (permanent)
to recipients whose address starts with "reject". With DELAY_MS, waits that long before accepting each recipient (a
slow server, so that a test can kill a sender mid-conversation). Prints "ready" once it listens.
"""
import asyncio
import itertools
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir, delay_ms):
        self.outdir = outdir
        self.delay = delay_ms / 1000
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.delay:
            await asyncio.sleep(self.delay)
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
    delay_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    controller = Controller(Sink(outdir, delay_ms), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    while True:
        time.sleep(3600)
