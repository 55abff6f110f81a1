#!/usr/bin/env python3
"""Attachments benchmark (docs/BENCHMARKS.md, "Attachments"): a 50 MiB file uploaded to and downloaded from
invest-crm with curl, against curl to and from a plain file server (nginx with WebDAV PUT) on the same machine and
disk; and the service's memory while a 60 MiB upload is refused and a 50 MiB one accepted.

Usage: scripts/files-bench.py [--binary target/release/invest-crm] [--runs 7] [--mib 50]
Needs curl and nginx (Debian: apt install nginx-light). Standard library only.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=60):
    for _ in range(seconds * 10):
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def timed(cmd):
    started = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - started, out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Peak:
    """The highest resident set of a process while a block runs, sampled every 5 ms."""

    def __init__(self, pid):
        self.pid, self.peak, self.running = pid, 0, False

    def __enter__(self):
        self.base = rss_kib(self.pid)
        self.peak, self.running = self.base, True
        self.thread = threading.Thread(target=self.sample)
        self.thread.start()
        return self

    def sample(self):
        while self.running:
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()


def nginx(root, port):
    conf = os.path.join(root, "nginx.conf")
    data = os.path.join(root, "www")
    os.makedirs(data)
    with open(conf, "w") as f:
        f.write(
            f"""daemon off; worker_processes 1;{" user root;" if os.geteuid() == 0 else ""} error_log {root}/error.log; pid {root}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off; client_body_temp_path {root}/body; client_max_body_size 100m; sendfile on;
  server {{ listen 127.0.0.1:{port}; root {data}; dav_methods PUT; create_full_put_path on; }}
}}
"""
        )
    return subprocess.Popen(["nginx", "-c", conf], stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/invest-crm")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--mib", type=int, default=50)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="files-bench-")
    big = os.path.join(work, "agreement.pdf")
    with open(big, "wb") as f:
        f.write(b"%PDF-1.7\n")
        f.write(os.urandom(a.mib * 1024 * 1024 - 9))
    over = os.path.join(work, "over.pdf")
    with open(over, "wb") as f:
        f.write(b"%PDF-1.7\n")
        f.write(os.urandom(60 * 1024 * 1024 - 9))
    port, nport = free_port(), free_port()
    env = dict(
        os.environ,
        INVEST_CRM_DATA_DIR=os.path.join(work, "data"),
        INVEST_CRM_LISTEN=f"127.0.0.1:{port}",
        INVEST_CRM_ADMIN_PASSWORD="bench-password-123",
        INVEST_CRM_JOBS__ENABLED="false",
        INVEST_CRM_LOG="warn",
    )
    crm = subprocess.Popen([a.binary, "serve"], env=env, stderr=subprocess.DEVNULL)
    web = nginx(work, nport)
    base, plain = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{nport}"
    try:
        wait_for(f"{base}/readyz")
        login = urllib.request.Request(
            f"{base}/api/v1/auth/login",
            data=json.dumps({"username": "admin", "password": "bench-password-123"}).encode(),
            headers={"content-type": "application/json"},
        )
        token = json.load(urllib.request.urlopen(login))["token"]
        auth = ["-H", f"authorization: Bearer {token}"]
        company = urllib.request.Request(
            f"{base}/api/v1/companies",
            data=json.dumps({"name": "基准测试企业"}).encode(),
            headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        )
        cid = json.load(urllib.request.urlopen(company))["id"]
        curl = ["curl", "-sf", "-o", "/dev/null"]
        times = {"crm_up": [], "plain_up": [], "crm_down": [], "plain_down": []}
        ids = []
        for i in range(a.runs):
            # Each run uploads a distinct file (one changed byte), so the store writes it anew.
            with open(big, "r+b") as f:
                f.seek(9)
                f.write(i.to_bytes(4, "big"))
            t, out = timed(curl[:-2] + auth + ["-F", f"file=@{big}", f"{base}/api/v1/companies/{cid}/attachments"])
            times["crm_up"].append(t)
            ids.append(json.loads(out)[0]["id"])
            t, _ = timed(curl + ["-T", big, f"{plain}/up{i}.pdf"])
            times["plain_up"].append(t)
            t, _ = timed(curl + auth + [f"{base}/api/v1/attachments/{ids[-1]}/content"])
            times["crm_down"].append(t)
            t, _ = timed(curl + [f"{plain}/up{i}.pdf"])
            times["plain_down"].append(t)
        with Peak(crm.pid) as refused:
            code = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"] + auth
                + ["-F", f"file=@{over}", f"{base}/api/v1/companies/{cid}/attachments"],
                capture_output=True, text=True,
            ).stdout
        with Peak(crm.pid) as accepted:
            timed(curl[:-2] + auth + ["-F", f"file=@{big};filename=again.pdf", f"{base}/api/v1/companies/{cid}/attachments"])
        med = {k: statistics.median(v) for k, v in times.items()}
        mib = os.path.getsize(big) / (1024 * 1024)
        print(f"{mib:.0f} MiB file, {a.runs} runs each, medians (min–max):")
        for k, v in times.items():
            print(f"  {k:10} {med[k] * 1000:7.0f} ms ({min(v) * 1000:.0f}–{max(v) * 1000:.0f})  {mib / med[k]:6.0f} MiB/s")
        print(f"upload ratio (invest-crm / nginx PUT):   {med['crm_up'] / med['plain_up']:.2f}")
        print(f"download ratio (invest-crm / nginx GET): {med['crm_down'] / med['plain_down']:.2f}")
        print(f"60 MiB upload answered {code}; server RSS {refused.base // 1024} MiB before, peak {refused.peak // 1024} MiB")
        print(f"{mib:.0f} MiB upload accepted; server RSS {accepted.base // 1024} MiB before, peak {accepted.peak // 1024} MiB")
    finally:
        crm.terminate()
        web.terminate()
        crm.wait()
        web.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
