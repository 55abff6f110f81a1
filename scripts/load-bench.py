#!/usr/bin/env python3
"""The mixed-load benchmark (docs/BENCHMARKS.md, "Mixed load"): CLIENTS concurrent clients, each signed in as a
staff user with its own session and connection, for SECONDS: 70% reads (the project list, a project, the visit
list, a company), 20% creates (a visit, a project, a follow-up), 10% stage moves of projects the client created.
Prints the throughput, p50/p95/p99 per kind and every error; --json writes the same as JSON.

Usage: load-bench.py URL ADMIN_PASSWORD [--clients 16] [--seconds 60] [--rate R] [--json FILE] [--acks FILE]
  [--timeline FILE]

By default every client sends its next request as soon as the last one is answered: a saturation test on a machine
whose cores the clients share. --rate R sends R requests a second in all, each client on its own schedule, and counts
each request's latency from when it was due.

--acks writes the id of every write that was acknowledged (2xx), by table, so that a trial can check afterwards that
none was lost (scripts/cluster-trial.py); --timeline writes every request as [start, kind, status, latency ms].

Only the standard library: the same script measures any build of the service (it was run against the commit before
the audit trail and after it).
"""

import argparse
import http.client
import json
import random
import statistics
import sys
import threading
import time
import urllib.parse

STAGES = ["lead", "negotiating", "signed", "landed", "started", "producing"]


class Client:
    """One keep-alive connection with a bearer token."""

    def __init__(self, url, token=None):
        u = urllib.parse.urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        self.token = token

    def call(self, method, path, body=None):
        headers = {"accept": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        try:
            self.conn.request(method, "/api/v1" + path, body=data, headers=headers)
            r = self.conn.getresponse()
            raw = r.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            return 0, None
        try:
            return r.status, json.loads(raw) if raw else None
        except ValueError:
            return r.status, raw[:200]


def sign_in(url, username, password):
    c = Client(url)
    for _ in range(60):
        s, b = c.call("POST", "/auth/login", {"username": username, "password": password})
        if s != 429:
            break
        # Past the sign-in limit of this address (by default one attempt back every 3 s): wait, as a client should.
        time.sleep(3)
    if s != 200:
        sys.exit(f"signing in {username}: {s} {b}")
    c.token = b["token"]
    return c


class Worker(threading.Thread):
    def __init__(self, n, url, user, password, companies, projects, deadline, start, every=None):
        super().__init__(daemon=True)
        self.rng = random.Random(n)
        # With --rate, this client's requests are due every `every` seconds from its own offset in the first one.
        self.every, self.offset = every, (every or 0) * self.rng.random()
        self.c = sign_in(url, user, password)
        self.companies, self.projects = companies, projects
        self.deadline, self.start_at = deadline, start
        self.lat = {"read": [], "create": [], "stage_move": []}
        # (wall-clock start, latency in ms) of every request, for --samples.
        self.samples = []
        self.errors = []
        # Acknowledged writes: (table, id).
        self.acks = []
        # (wall-clock start, kind, status, latency in ms) of every request, for --timeline.
        self.timeline = []
        self.mine = []  # [project id, stage index, version]
        self.day = 0
        for _ in range(5):
            self.new_project()

    def date(self):
        self.day += 1
        return time.strftime("%Y-%m-%d", time.gmtime(1704067200 + (self.day % 600) * 86400))

    def new_project(self):
        body = {"name": f"压测项目{self.rng.getrandbits(40):x}", "company_id": self.rng.choice(self.companies),
                "stage": "lead", "occurred_on": "2024-01-01"}
        s, b = self.c.call("POST", "/projects", body)
        if s == 201:
            self.mine.append([b["id"], 0, "2024-01-01"])
            self.acks.append(("projects", b["id"]))
        return s, b

    def read(self):
        k = self.rng.random()
        if k < 0.4:
            return self.c.call("GET", f"/projects?page={self.rng.randint(1, 5)}&per_page=20")
        if k < 0.7:
            return self.c.call("GET", f"/projects/{self.rng.choice(self.projects)}")
        if k < 0.85:
            return self.c.call("GET", "/visits?per_page=20")
        return self.c.call("GET", f"/companies/{self.rng.choice(self.companies)}")

    def create(self):
        k = self.rng.random()
        if k < 0.4:
            body = {"visit_date": self.date(), "headcount": self.rng.randint(1, 9),
                    "company_ids": [self.rng.choice(self.companies)], "purpose": "压测来访"}
            return self.acked("visits", self.c.call("POST", "/visits", body))
        if k < 0.7:
            return self.new_project()
        body = {"occurred_on": self.date(), "kind": "call", "note": "压测跟进"}
        return self.acked("follow_ups", self.c.call("POST", f"/projects/{self.rng.choice(self.projects)}/follow-ups",
                                                    body))

    def acked(self, table, answer):
        s, b = answer
        if 200 <= s < 300 and isinstance(b, dict) and "id" in b:
            self.acks.append((table, b["id"]))
        return answer

    def move(self):
        if not self.mine:
            self.new_project()
        p = self.rng.choice(self.mine)
        p[1] += 1
        body = {"stage": STAGES[p[1]], "occurred_on": "2024-%02d-01" % (p[1] + 1)}
        s, b = self.acked("stage_events", self.c.call("POST", f"/projects/{p[0]}/stage-events", body))
        if p[1] == len(STAGES) - 1 or s >= 300:
            self.mine.remove(p)
        return s, b

    def run(self):
        while time.time() < self.start_at:
            time.sleep(0.001)
        due = self.start_at + self.offset
        while True:
            r = self.rng.random()
            kind = "read" if r < 0.7 else "create" if r < 0.9 else "stage_move"
            if self.every:
                time.sleep(max(0.0, due - time.time()))
            t0, wall = time.perf_counter(), time.time()
            s, b = {"read": self.read, "create": self.create, "stage_move": self.move}[kind]()
            t1 = time.perf_counter()
            if time.time() > self.deadline:
                break
            # At a set rate a request is late from the moment it was due, not from when a slow client got to send it
            # (otherwise a stall hides the requests that queued behind it).
            if self.every:
                t0 -= max(0.0, wall - due)
                wall = min(wall, due)
                due += self.every
            self.lat[kind].append((t1 - t0) * 1000)
            self.samples.append((wall, (t1 - t0) * 1000))
            self.timeline.append((wall, kind, s, (t1 - t0) * 1000))
            if not 200 <= s < 300:
                self.errors.append((kind, s, str(b)[:160]))


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("admin_password")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rate", type=float, help="requests per second in all, spread over the clients (an open "
                    "load, latency counted from when each was due); by default each client sends its next request "
                    "as soon as the last one is answered")
    ap.add_argument("--json")
    ap.add_argument("--admin", default="admin", help="the admin's username")
    ap.add_argument("--samples", help="write every request's start time and latency to this JSON file")
    ap.add_argument("--acks", help="write the ids of the acknowledged writes, by table, to this JSON file")
    ap.add_argument("--timeline", help="write every request's start, kind, status and latency to this JSON file")
    a = ap.parse_args()

    admin = sign_in(a.url, a.admin, a.admin_password)
    user, password = f"load{int(time.time() * 1000) % 10**9}", "load-bench-password-1"
    s, b = admin.call("POST", "/users", {"username": user, "display_name": "压测专员", "role": "staff",
                                          "password": password})
    if s != 201:
        sys.exit(f"creating the staff user: {s} {b}")
    s, u = admin.call("GET", f"/users/{b['id']}")
    # The staff user sees the whole park, so that its reads and writes reach every record.
    s, b = admin.call("PATCH", f"/users/{u['id']}", {"version": u["version"], "data_scope": "all"})
    if s != 200:
        sys.exit(f"widening the staff user's scope: {s} {b}")
    companies = [c["id"] for c in admin.call("GET", "/companies?per_page=200")[1]["items"]]
    projects = [p["id"] for p in admin.call("GET", "/projects?per_page=200")[1]["items"]]
    if not companies or not projects:
        sys.exit("the park is empty: start the service with --demo")

    start = time.time() + 2
    deadline = start + a.seconds
    every = a.clients / a.rate if a.rate else None
    workers = [Worker(n, a.url, user, password, companies, projects, deadline, start, every)
               for n in range(a.clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    out = {"clients": a.clients, "seconds": a.seconds, "rate": a.rate, "kinds": {}, "errors": []}
    total = 0
    for kind in ["read", "create", "stage_move"]:
        xs = [x for w in workers for x in w.lat[kind]]
        total += len(xs)
        out["kinds"][kind] = {"requests": len(xs), "p50_ms": pct(xs, 50), "p95_ms": pct(xs, 95),
                              "p99_ms": pct(xs, 99), "mean_ms": statistics.fmean(xs) if xs else None}
    all_lat = [x for w in workers for k in w.lat for x in w.lat[k]]
    out["requests"] = total
    out["throughput_per_s"] = total / a.seconds
    out["p50_ms"], out["p95_ms"], out["p99_ms"] = pct(all_lat, 50), pct(all_lat, 95), pct(all_lat, 99)
    out["errors"] = [e for w in workers for e in w.errors]
    statuses = {}
    for w in workers:
        for _, _, s, _ in w.timeline:
            statuses[str(s)] = statuses.get(str(s), 0) + 1
    out["statuses"] = dict(sorted(statuses.items()))

    print(f"{total} requests in {a.seconds:.0f} s by {a.clients} clients: {out['throughput_per_s']:.1f}/s; "
          f"p50 {out['p50_ms']:.1f} ms, p95 {out['p95_ms']:.1f} ms, p99 {out['p99_ms']:.1f} ms")
    for kind, k in out["kinds"].items():
        if k["requests"]:
            print(f"  {kind:<10} {k['requests']:>7}  p50 {k['p50_ms']:7.1f}  p95 {k['p95_ms']:7.1f}  "
                  f"p99 {k['p99_ms']:7.1f} ms")
    print(f"  errors: {len(out['errors'])}")
    for e in out["errors"][:20]:
        print(f"    {e[0]} {e[1]} {e[2]}")
    if a.samples:
        with open(a.samples, "w") as f:
            json.dump(sorted(x for w in workers for x in w.samples), f)
    if a.acks:
        acks = {}
        for w in workers:
            for table, id_ in w.acks:
                acks.setdefault(table, []).append(id_)
        with open(a.acks, "w") as f:
            json.dump(acks, f)
    if a.timeline:
        with open(a.timeline, "w") as f:
            json.dump(sorted(x for w in workers for x in w.timeline), f)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
