#!/usr/bin/env python3
"""The cluster trial (docs/DEPLOYMENT.md): a PostgreSQL primary with a synchronous hot standby, three replicas of the
service, and HAProxy in front of both (HTTP to the replicas, health-checked on /readyz; TCP to whichever PostgreSQL
is up, the standby as the backup server). The mixed-load benchmark runs through HAProxy for SECONDS while a replica
is killed with SIGKILL every KILL_EVERY seconds (and restarted, as systemd's Restart=always would), and at
FAILOVER_AT the primary is stopped and the standby promoted. Then it checks that nothing acknowledged was lost, that
no job slot ran twice or went missing, that no mail was sent twice, that the audit chain verifies and that sign-in
attempts over the three replicas stay within one limit; and compares the throughput through HAProxy with three
replicas against one replica direct. Writes a report (Markdown and JSON) and exits 1 when a check fails.

Usage: cluster-trial.py --bin target/release/invest-crm [--seconds 300] [--failover-at 180] [--kill-every 30]
                        [--clients 8] [--compare-seconds 60] [--report target/cluster-trial/report.md]
                        [--park 20000] [--read-scaling-seconds 60] [--keep]

Needs PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup: Debian's postgresql), haproxy and python3; runs
PostgreSQL as the user postgres when started as root. Everything lives in a temporary folder, removed at the end.
"""

import argparse
import email.parser
import glob
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ADMIN_PASSWORD = "cluster-trial-admin-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    sys.exit("PostgreSQL's server programs (initdb, pg_ctl) are not installed: apt-get install postgresql")


def as_postgres(cmd):
    return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + cmd


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Trial:
    def __init__(self, a):
        self.a = a
        self.pg = pg_bin()
        self.dir = tempfile.mkdtemp(prefix="cluster-trial-")
        os.chmod(self.dir, 0o777)
        self.ports = {k: free_port() for k in ["primary", "standby", "pg", "http", "r0", "r1", "r2"]}
        self.procs = {}
        self.events = []  # (time, what)
        self.restarts = 0
        self.mail = os.path.join(self.dir, "mail")
        os.makedirs(self.mail)
        os.chmod(self.mail, 0o777)

    def pg_cmd(self, name, *args):
        return run(as_postgres([os.path.join(self.pg, name), *args]))

    def psql(self, sql, port=None, db="crm"):
        port = port or self.ports["pg"]
        out = run([os.path.join(self.pg, "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db,
                   "-AtXqc", sql])
        return out.stdout.strip()

    # --- PostgreSQL: a primary and a synchronous hot standby ----------------------------------------------------

    def start_postgres(self):
        primary, standby = os.path.join(self.dir, "primary"), os.path.join(self.dir, "standby")
        self.pg_cmd("initdb", "-D", primary, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        with open(os.path.join(primary, "postgresql.auto.conf"), "a") as f:
            f.write(f"port = {self.ports['primary']}\nlisten_addresses = '127.0.0.1'\n"
                    f"unix_socket_directories = '{self.dir}'\nwal_level = replica\nmax_wal_senders = 5\n"
                    "hot_standby = on\nsynchronous_commit = on\nsynchronous_standby_names = 'standby'\n"
                    "max_connections = 200\n")
        self.pg_cmd("pg_ctl", "-D", primary, "-l", os.path.join(self.dir, "primary.log"), "-w", "start")
        self.pg_cmd("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.ports["primary"]), "-U", "postgres",
                    "-D", standby, "-X", "stream", "-c", "fast")
        with open(os.path.join(standby, "postgresql.auto.conf"), "a") as f:
            # The standby is no one's primary yet: once promoted it must not wait for a standby of its own.
            f.write(f"port = {self.ports['standby']}\nsynchronous_standby_names = ''\n"
                    f"primary_conninfo = 'host=127.0.0.1 port={self.ports['primary']} user=postgres "
                    "application_name=standby'\n")
        open(os.path.join(standby, "standby.signal"), "w").close()
        self.pg_cmd("pg_ctl", "-D", standby, "-l", os.path.join(self.dir, "standby.log"), "-w", "start")
        for _ in range(100):
            state = self.psql("SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'",
                              port=self.ports["primary"], db="postgres")
            if state == "sync":
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the standby never became synchronous")
        self.psql("CREATE DATABASE crm", port=self.ports["primary"], db="postgres")
        log(f"PostgreSQL primary :{self.ports['primary']}, synchronous standby :{self.ports['standby']}")

    # --- HAProxy ------------------------------------------------------------------------------------------------

    def start_haproxy(self):
        servers = "\n".join(f"    server r{i} 127.0.0.1:{self.ports[f'r{i}']} check" for i in range(3))
        cfg = f"""global
    maxconn 4000
defaults
    timeout connect 2s
    timeout client 60s
    timeout server 30s
    timeout check 2s
    retries 2
    option redispatch
frontend web
    mode http
    bind 127.0.0.1:{self.ports['http']}
    option forwardfor
    default_backend replicas
backend replicas
    mode http
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # No shutdown-sessions here: a replica whose check is slow for a moment (its database switching) keeps the
    # requests it is answering; a killed one's connections end by themselves.
    default-server inter 1s fall 2 rise 1
{servers}
listen postgres
    mode tcp
    bind 127.0.0.1:{self.ports['pg']}
    option pgsql-check user postgres
    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
    server primary 127.0.0.1:{self.ports['primary']} check
    server standby 127.0.0.1:{self.ports['standby']} check backup
"""
        path = os.path.join(self.dir, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(cfg)
        self.procs["haproxy"] = subprocess.Popen(["haproxy", "-f", path, "-db"],
                                                 stdout=open(os.path.join(self.dir, "haproxy.log"), "w"),
                                                 stderr=subprocess.STDOUT)
        log(f"HAProxy: HTTP :{self.ports['http']} → 3 replicas, PostgreSQL :{self.ports['pg']} → primary/standby")

    # --- the replicas -------------------------------------------------------------------------------------------

    def env(self, i):
        e = dict(os.environ)
        e.update({
            "INVEST_CRM_DATABASE_URL": f"postgres://postgres@127.0.0.1:{self.ports['pg']}/crm",
            "INVEST_CRM_LISTEN": f"127.0.0.1:{self.ports[f'r{i}']}",
            "INVEST_CRM_DATA_DIR": os.path.join(self.dir, f"r{i}"),
            "INVEST_CRM_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "INVEST_CRM_LOG": "warn",
            "INVEST_CRM_MAIL__OUTBOX_DIR": self.mail,
            # Short leases and retries, so that the slots of a killed replica are taken over within the trial.
            "INVEST_CRM_JOBS__LEASE_SECONDS": "20",
            "INVEST_CRM_JOBS__RETRY_SECONDS": "5",
            "INVEST_CRM_JOBS__MAX_ATTEMPTS": "5",
            "INVEST_CRM_JOBS__WEEKLY_REPORT": "20 * * * * *",
            "INVEST_CRM_JOBS__REMINDERS": "40 * * * * *",
            "HOSTNAME": f"replica{i}",
        })
        return e

    def start_replica(self, i, demo=False):
        cmd = [self.a.bin, "serve"] + (["--demo"] if demo else [])
        out = open(os.path.join(self.dir, f"r{i}.log"), "a")
        self.procs[f"r{i}"] = subprocess.Popen(cmd, env=self.env(i), stdout=out, stderr=subprocess.STDOUT)

    def ready(self, port, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        return False

    def start_replicas(self):
        if self.a.park:
            n = self.a.park
            run([self.a.bin, "bench", "generate", "--projects", str(n), "--visits", str(10 * n), "--blockers",
                 str(2 * n), "--candidates", str(max(n // 5, 1))], env=self.env(0))
            log(f"synthetic park of {n} projects generated")
        self.start_replica(0, demo=True)
        if not self.ready(self.ports["r0"], timeout=300):
            raise RuntimeError("replica 0 never became ready; see " + os.path.join(self.dir, "r0.log"))
        for i in (1, 2):
            self.start_replica(i)
        for i in (1, 2):
            if not self.ready(self.ports[f"r{i}"]):
                raise RuntimeError(f"replica {i} never became ready")
        if not self.ready(self.ports["http"]):
            raise RuntimeError("HAProxy never answered")
        # A leader with an address, so that the weekly report has someone to mail on any park.
        s, b = self.call("POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})
        s, b = self.call("POST", "/users", {"username": "trial-leader", "display_name": "试验领导", "role": "leader",
                                            "email": "leader@trial.example", "password": "trial-leader-password-1"},
                         token=b["token"])
        if s != 201:
            raise RuntimeError(f"creating the leader: {s} {b}")
        log("three replicas ready behind HAProxy")

    def supervise(self):
        """Restarts a replica that exited, as systemd's Restart=always would (one killed, or one that could not
        reach the database while it started)."""
        for i in range(3):
            p = self.procs.get(f"r{i}")
            if p and p.poll() is not None:
                self.restarts += 1
                self.start_replica(i)

    # --- the trial ----------------------------------------------------------------------------------------------

    def load(self, url, seconds, clients, tag, acks=False):
        out = {k: os.path.join(self.dir, f"{tag}-{k}.json") for k in ["json", "acks", "timeline"]}
        cmd = [sys.executable, os.path.join(HERE, "load-bench.py"), url, ADMIN_PASSWORD, "--clients", str(clients),
               "--seconds", str(seconds), "--json", out["json"], "--timeline", out["timeline"]]
        if acks:
            cmd += ["--acks", out["acks"]]
        return subprocess.Popen(cmd, stdout=open(os.path.join(self.dir, f"{tag}.log"), "w"),
                                stderr=subprocess.STDOUT), out

    def chaos(self):
        a = self.a
        proc, out = self.load(f"http://127.0.0.1:{self.ports['http']}", a.seconds, a.clients, "trial", acks=True)
        start = time.time() + 2  # load-bench starts its clients two seconds after it signed them in
        self.t0 = start
        next_kill, victim, failed_over = start + a.kill_every, 0, False
        while proc.poll() is None:
            now = time.time()
            if now >= next_kill:
                p = self.procs[f"r{victim}"]
                p.send_signal(signal.SIGKILL)
                p.wait()
                self.events.append((now - start, f"SIGKILL replica {victim}"))
                victim, next_kill = (victim + 1) % 3, next_kill + a.kill_every
            if not failed_over and now >= start + a.failover_at:
                t = time.time()
                self.pg_cmd("pg_ctl", "-D", os.path.join(self.dir, "primary"), "-m", "fast", "-w", "stop")
                self.t_stopped = time.time()
                self.events.append((self.t_stopped - start, "primary stopped"))
                self.pg_cmd("pg_ctl", "-D", os.path.join(self.dir, "standby"), "-w", "promote")
                self.t_promoted = time.time()
                self.events.append((self.t_promoted - start, "standby promoted"))
                log(f"failover: primary stopped and standby promoted in {self.t_promoted - t:.1f} s")
                failed_over = True
            self.supervise()
            time.sleep(0.2)
        self.t_end = time.time()
        with open(out["json"]) as f:
            self.result = json.load(f)
        with open(out["timeline"]) as f:
            self.timeline = json.load(f)
        with open(out["acks"]) as f:
            self.acks = json.load(f)
        log(f"load done: {self.result['requests']} requests, statuses {self.result['statuses']}")

    # --- the checks ---------------------------------------------------------------------------------------------

    def checks(self):
        c = {}
        # 1. Every acknowledged write is in the (new primary's) database.
        lost = {}
        for table, ids in self.acks.items():
            found = int(self.psql(f"SELECT count(*) FROM {table} WHERE id IN ({','.join(map(str, ids))})")) if ids else 0
            lost[table] = {"acknowledged": len(ids), "found": found}
        c["writes"] = lost
        c["writes_ok"] = all(v["acknowledged"] == v["found"] for v in lost.values())

        # 2. Jobs: every minute slot of the trial ran, none twice. A slot whose runner was killed is taken over
        # after its lease: wait for that first.
        t0, t_end = self.t0, self.t_end
        for _ in range(90):
            self.supervise()
            pending = self.psql("SELECT count(*) FROM job_runs WHERE status IN ('running', 'retrying')")
            if pending == "0":
                break
            time.sleep(1)
        jobs = {}
        for job, second in [("outbox", 0), ("weekly_report", 20), ("reminders", 40)]:
            rows = self.psql(
                "SELECT extract(epoch FROM scheduled_for)::bigint, status FROM job_runs "
                f"WHERE job = '{job}' AND scheduled_for > to_timestamp({t0}) "
                f"AND scheduled_for < to_timestamp({t_end})").splitlines()
            runs = {}
            for r in rows:
                t, status = r.split("|")
                runs.setdefault(int(t), []).append(status)
            expected = [t for t in range(int(t0 // 60) * 60 + second, int(t_end) + 1, 60) if t0 < t < t_end]
            jobs[job] = {
                "slots": len(expected),
                "succeeded": sum(1 for t in expected if runs.get(t) == ["succeeded"]),
                "missing": [t for t in expected if t not in runs],
                "twice": [t for t, v in runs.items() if len(v) > 1],
                "not_succeeded": {t: v for t, v in runs.items() if v != ["succeeded"]},
            }
        twice_done = self.psql("SELECT count(*) FROM (SELECT run_id FROM job_attempts WHERE outcome = 'succeeded' "
                               "GROUP BY run_id HAVING count(*) > 1) t")
        c["jobs"] = jobs
        c["job_runs_succeeded_twice"] = int(twice_done)
        c["jobs_ok"] = int(twice_done) == 0 and all(
            j["slots"] > 0 and j["succeeded"] == j["slots"] for j in jobs.values())

        # 3. No mail twice: every message the outbox sent was written once, under its own Message-ID.
        for _ in range(90):
            if self.psql("SELECT count(*) FROM outbox WHERE status NOT IN ('sent', 'failed')") == "0":
                break
            self.supervise()
            time.sleep(1)
        ids = []
        for path in glob.glob(os.path.join(self.mail, "**", "*.eml"), recursive=True):
            with open(path, "rb") as f:
                ids.append(email.parser.BytesHeaderParser().parse(f)["Message-ID"])
        sent = int(self.psql("SELECT count(*) FROM outbox WHERE status = 'sent'"))
        c["mail"] = {"files": len(ids), "distinct_message_ids": len(set(ids)), "outbox_sent": sent}
        c["mail_ok"] = len(ids) == len(set(ids)) == sent and sent > 0

        # 4. The audit chain verifies.
        v = subprocess.run([self.a.bin, "audit", "verify"], env=self.env(0), capture_output=True, text=True)
        c["audit"] = {"exit": v.returncode, "output": (v.stdout + v.stderr).strip()[-400:]}
        c["audit_ok"] = v.returncode == 0

        # 5. State that must be shared, each step on the next replica (a new connection each time, round robin): a
        # session made on one is honoured by the others, and a ledger import committed through one is listed by
        # the next and undone by the third.
        c["shared"] = self.shared_state()
        c["shared_ok"] = all(c["shared"].values())

        # 6. The failover: the longest time around it in which no request succeeded (from one success to the next),
        # how soon after the promotion writes were acknowledged again, and what was answered meanwhile.
        stopped, promoted = self.t_stopped, self.t_promoted
        done = sorted(x[0] + x[3] / 1000 for x in self.timeline
                      if 200 <= x[2] < 300 and stopped - 5 <= x[0] <= promoted + 30)
        gaps = [(b - a, a) for a, b in zip(done, done[1:]) if b >= stopped]
        gap, gap_from = max(gaps, default=(None, None))
        writes = [x for x in self.timeline if x[1] != "read"]
        back = next((x[0] + x[3] / 1000 for x in writes if x[0] >= promoted and 200 <= x[2] < 300), None)
        around = [x for x in self.timeline if stopped - 1 <= x[0] <= (back or promoted) + 1]
        statuses = {}
        for x in around:
            statuses[str(x[2])] = statuses.get(str(x[2]), 0) + 1
        c["failover"] = {
            "stop_to_promoted_s": round(promoted - stopped, 2),
            "first_write_after_promotion_s": round(back - promoted, 2) if back else None,
            "unavailable_window_s": round(gap, 2) if gap is not None else None,
            "unavailable_from_s": round(gap_from - self.t0, 2) if gap_from else None,
            "statuses_during_switch": statuses,
            "longest_request_during_switch_ms": round(max((x[3] for x in around), default=0)),
        }
        c["failover_ok"] = (back is not None and back - promoted < 30 and "500" not in statuses
                            and c["failover"]["longest_request_during_switch_ms"] < 30_000)
        c["no_500"] = self.result["statuses"].get("500", 0) == 0
        return c

    def call(self, method, path, body=None, token=None, ctype="application/json"):
        """One request through HAProxy on a new connection (so round robin picks the next replica)."""
        headers = {"content-type": ctype, "connection": "close"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if body is not None and ctype == "application/json":
            body = json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.ports['http']}/api/v1{path}", data=body,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, e.read()[:300]

    def shared_state(self):
        ledger = os.path.join(self.dir, "ledger.xlsx")
        run([self.a.bin, "bench", "ledger", "--rows", "30", "--out", ledger], env=self.env(0))
        s, b = self.call("POST", "/auth/login", {"username": "admin", "password": ADMIN_PASSWORD})
        token = b["token"] if s == 200 else None
        seen = [self.call("GET", "/auth/me", token=token)[0] for _ in range(3)]
        boundary = "cluster-trial-boundary"
        with open(ledger, "rb") as f:
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ledger.xlsx\"\r\n"
                    "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
                    ).encode() + f.read() + f"\r\n--{boundary}--\r\n".encode()
        s_import, report = self.call("POST", "/imports/projects?mode=commit&on_error=skip", body, token,
                                     f"multipart/form-data; boundary={boundary}")
        batch = report.get("batch_id") if isinstance(report, dict) else None
        s_list, listed = self.call("GET", "/imports", token=token)
        on_list = isinstance(listed, dict) and any(i.get("id") == batch for i in listed.get("items", []))
        s_undo, _ = self.call("DELETE", f"/imports/batches/{batch}", token=token)
        return {
            "session_honoured_by_every_replica": s == 200 and seen == [200, 200, 200],
            "import_committed": s_import == 200 and batch is not None,
            "import_listed_by_the_next": s_list == 200 and on_list,
            "import_undone_by_the_third": s_undo == 200,
        }

    def read_scaling(self):
        """Whether the analytics' reads belong on the standby: the same load through HAProxy while a reader runs the
        nightly job's statements (src/bench/floor.rs) over and over, first on the primary, then on the standby."""
        if self.a.read_scaling_seconds <= 0:
            return None
        floor = [
            "select project_id, occurred_on, stage from stage_events where project_id in "
            "(select id from projects where is_major)",
            "select p.id, p.industry, p.source, c.province, p.agreed_investment_yuan, p.reached_signed_on "
            "from projects p join companies c on c.id = p.company_id",
            "select visit_date, count(id), cast(sum(headcount) as bigint) from visits group by visit_date",
            "select category, opened_on, due_date, resolved_on from blockers",
        ]
        out = {}
        for where in ["primary", "standby"]:
            stop, reads = threading.Event(), [0]

            def reader():
                while not stop.is_set():
                    cmd = [os.path.join(self.pg, "psql"), "-h", "127.0.0.1", "-p", str(self.ports[where]), "-U",
                           "postgres", "-d", "crm", "-Xq"]
                    for sql in floor:
                        cmd += ["-c", f"\\copy ({sql}) to '/dev/null'"]
                    subprocess.run(cmd, check=True, capture_output=True)
                    reads[0] += 1

            th = threading.Thread(target=reader, daemon=True)
            th.start()
            proc, files = self.load(f"http://127.0.0.1:{self.ports['http']}", self.a.read_scaling_seconds,
                                    self.a.clients, f"reads-on-{where}")
            proc.wait()
            stop.set()
            th.join()
            with open(files["json"]) as f:
                r = json.load(f)
            out[where] = {"throughput_per_s": r["throughput_per_s"], "p99_ms": r["p99_ms"],
                          "analytics_reads": reads[0]}
            log(f"analytics reads on the {where}: {out[where]}")
        return out

    def sign_in_check(self, waited):
        """One sign-in limit over three replicas: 20 guesses pass (401), the 21st is refused (429). Run last, once
        the bucket of this address has filled again after the benchmark's sign-ins (one attempt back every 3 s)."""
        time.sleep(max(4, 30 - waited))
        answers = []
        for _ in range(21):
            req = urllib.request.Request(f"http://127.0.0.1:{self.ports['http']}/api/v1/auth/login",
                                         data=json.dumps({"username": "nobody", "password": "a guess"}).encode(),
                                         headers={"content-type": "application/json", "connection": "close"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    answers.append(r.status)
            except urllib.error.HTTPError as e:
                answers.append(e.code)
        return {"sign_in": {"answers": answers}, "sign_in_ok": answers[:20] == [401] * 20 and answers[20] == 429}

    def compare(self):
        """The same benchmark through HAProxy with three replicas, and against one replica direct."""
        if self.a.compare_seconds <= 0:
            return None
        out = {}
        for tag, port in [("haproxy_3_replicas", self.ports["http"]), ("one_replica_direct", self.ports["r0"])]:
            proc, files = self.load(f"http://127.0.0.1:{port}", self.a.compare_seconds, self.a.clients, tag)
            proc.wait()
            with open(files["json"]) as f:
                r = json.load(f)
            out[tag] = {k: r[k] for k in ["requests", "throughput_per_s", "p50_ms", "p99_ms", "statuses"]}
        out["ratio"] = round(out["haproxy_3_replicas"]["throughput_per_s"] /
                             out["one_replica_direct"]["throughput_per_s"], 2)
        return out

    def stop(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for d in ["primary", "standby"]:
            subprocess.run(as_postgres([os.path.join(self.pg, "pg_ctl"), "-D", os.path.join(self.dir, d), "-m",
                                        "immediate", "stop"]), capture_output=True)
        if not self.a.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def report(a, t, c, cmp, reads):
    r = t.result
    checks = ["writes_ok", "jobs_ok", "mail_ok", "audit_ok", "sign_in_ok", "shared_ok", "failover_ok", "no_500"]
    ok = all(c[k] for k in checks)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    def joined(d, f):
        return ", ".join(f(k, v) for k, v in d.items())

    writes = joined(c["writes"], lambda k, v: f"{k} {v['found']}/{v['acknowledged']}")
    slots = joined(c["jobs"], lambda k, v: f"{k} {v['succeeded']}/{v['slots']}")
    statuses = joined(r["statuses"], lambda k, v: f"{k}: {v}")
    events = "; ".join(f"{s:.0f} s {w}" for s, w in t.events)
    lines = [
        f"Cluster trial of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: **{'passed' if ok else 'FAILED'}**",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}; binary `{a.bin}`; "
        f"{a.clients} clients for {a.seconds} s through HAProxy; a replica killed (SIGKILL) every {a.kill_every} s "
        f"and restarted; the primary stopped and the standby promoted at {a.failover_at} s.",
        "",
        "| | |",
        "|---|---|",
        f"| requests | {r['requests']} ({r['throughput_per_s']:.1f}/s) |",
        f"| p50 / p99 | {r['p50_ms']:.1f} ms / {r['p99_ms']:.1f} ms |",
        f"| answers by status | {statuses} (0 = connection cut) |",
        f"| replica restarts | {t.restarts} |",
        f"| events | {events} |",
        f"| failover: stop → promoted | {c['failover']['stop_to_promoted_s']} s |",
        f"| failover: longest time without a successful request around it | "
        f"{c['failover']['unavailable_window_s']} s (from {c['failover']['unavailable_from_s']} s) |",
        f"| failover: first acknowledged write after the promotion | "
        f"{c['failover']['first_write_after_promotion_s']} s |",
        f"| answers during the switch | {c['failover']['statuses_during_switch']}, longest "
        f"{c['failover']['longest_request_during_switch_ms']} ms |",
        f"| acknowledged writes found after the trial | {writes} |",
        f"| job slots (every minute of the trial) | {slots}; runs succeeded twice: {c['job_runs_succeeded_twice']} |",
        f"| mail | {c['mail']['files']} files, {c['mail']['distinct_message_ids']} distinct Message-IDs, "
        f"{c['mail']['outbox_sent']} sent in the outbox |",
        f"| audit chain | {'verifies' if c['audit_ok'] else 'FAILS: ' + c['audit']['output']} |",
        f"| shared state, one step per replica | "
        f"{', '.join(k.replace('_', ' ') + (' ✓' if v else ' ✗') for k, v in c['shared'].items())} |",
        f"| 21 sign-in guesses over 3 replicas | {c['sign_in']['answers'][:20].count(401)} × 401, then "
        f"{c['sign_in']['answers'][20]} |",
    ]
    if cmp:
        h, d = cmp["haproxy_3_replicas"], cmp["one_replica_direct"]
        lines.append(f"| throughput, {a.compare_seconds} s each: HAProxy + 3 replicas / 1 replica direct | "
                     f"{h['throughput_per_s']:.1f}/s / {d['throughput_per_s']:.1f}/s = **{cmp['ratio']}×** "
                     f"(p99 {h['p99_ms']:.0f} / {d['p99_ms']:.0f} ms) |")
    if reads:
        p, s_ = reads["primary"], reads["standby"]
        lines.append(f"| the load while the nightly job's reads run in a loop ({a.read_scaling_seconds} s each): on the "
                     f"primary / on the standby | {p['throughput_per_s']:.1f}/s, p99 {p['p99_ms']:.0f} ms, "
                     f"{p['analytics_reads']} reads / {s_['throughput_per_s']:.1f}/s, p99 {s_['p99_ms']:.0f} ms, "
                     f"{s_['analytics_reads']} reads |")
    failures = [k for k in checks if not c[k]]
    if failures:
        lines += ["", f"Failed checks: {', '.join(failures)}", "", "```", json.dumps(c, indent=1)[:6000], "```"]
    return ok, "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/invest-crm")
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--failover-at", type=float, default=180)
    ap.add_argument("--kill-every", type=float, default=30)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--compare-seconds", type=float, default=60)
    ap.add_argument("--report", default="target/cluster-trial/report.md")
    ap.add_argument("--park", type=int, default=0,
                    help="projects of a synthetic park to run on (bench generate; 10× visits); 0: the demo park")
    ap.add_argument("--read-scaling-seconds", type=float, default=0,
                    help="measure the load with the analytics' reads on the primary, then on the standby")
    ap.add_argument("--keep", action="store_true", help="keep the trial's folder (logs, data) for a look")
    a = ap.parse_args()
    if not shutil.which("haproxy"):
        sys.exit("haproxy is not installed: apt-get install haproxy")
    a.bin = os.path.abspath(a.bin)
    t = Trial(a)
    log(f"trial folder {t.dir}")
    try:
        t.start_postgres()
        t.start_haproxy()
        t.start_replicas()
        reads = t.read_scaling()
        t.chaos()
        c = t.checks()
        cmp = t.compare()
        c.update(t.sign_in_check(a.compare_seconds if cmp else 0))
    finally:
        t.stop()
    ok, text = report(a, t, c, cmp, reads)
    os.makedirs(os.path.dirname(os.path.abspath(a.report)), exist_ok=True)
    with open(a.report, "w") as f:
        f.write(text)
    with open(os.path.splitext(a.report)[0] + ".json", "w") as f:
        json.dump({"checks": c, "compare": cmp, "read_scaling": reads, "load": t.result, "events": t.events}, f,
                  indent=1)
    print(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
