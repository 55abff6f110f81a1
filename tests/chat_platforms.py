#!/usr/bin/env python3
"""Plays 企业微信, 钉钉 and 飞书 for the work-chat tests: their group robots' webhooks and their applications' token
and message APIs, on one local HTTP port, checking what the platforms check (the robot's key or token, 钉钉's and
飞书's signatures and their one-hour window, the JSON shape and size limits of each message type, the access token
and the agent id) and answering with their codes: success, invalid key, sign mismatch, rate limit (a robot's N
messages per window, 20 a minute unless set), expired token. Applications' tokens expire after `token_ttl` seconds.
企业微信's duplicate check (the same content to the same people within the interval is delivered once) is kept.

Usage: chat_platforms.py PORT CONFIG.json — prints "ready" once listening. CONFIG:
  {"robots": {"<key or token>": {"platform": "wecom"|"dingtalk"|"feishu", "secret": "...", "per_window": 20,
                                  "window": 60}},
   "apps": {"wecom": {"corpid": "...", "secret": "...", "agentid": 1000002},
            "dingtalk": {"appkey": "...", "appsecret": "...", "agent_id": 2000001}},
   "token_ttl": 7200}
Test hooks: GET /_received (every delivered message, in order), GET /_log (every request with the code answered),
POST /_expire_tokens, POST /_slow?ms=N (delay the answer to each message by N ms, after it was delivered).
"""

import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
STATE = {"received": [], "log": [], "tokens": {}, "sent_at": {}, "dupes": {}, "slow_ms": 0}


def ok_sign(secret, ts, sign, key_is_string):
    """钉钉: HMAC-SHA256(secret, f"{ts}\\n{secret}"); 飞书: HMAC-SHA256(f"{ts}\\n{secret}", b""). Base64."""
    string = f"{ts}\n{secret}".encode()
    if key_is_string:
        digest = hmac.new(string, b"", hashlib.sha256).digest()
    else:
        digest = hmac.new(secret.encode(), string, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), sign or "")


def within_hour(ts_seconds):
    return abs(time.time() - ts_seconds) < 3600


class Handler(BaseHTTPRequestHandler):
    config = {}

    def log_message(self, *args):
        pass

    def answer(self, obj, status=200):
        # Only a message's answer is slowed (after it was delivered), never a token's or the test hooks'.
        if STATE["slow_ms"] and getattr(self, "sending", False):
            time.sleep(STATE["slow_ms"] / 1000)
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        self.raw_len = len(raw)
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def record(self, platform, code, **extra):
        with LOCK:
            STATE["log"].append({"platform": platform, "path": self.path.split("?")[0], "code": code, **extra})

    def deliver(self, platform, where, to, title, content):
        with LOCK:
            STATE["received"].append(
                {"platform": platform, "where": where, "to": to, "title": title, "content": content}
            )

    def rate_limited(self, key, robot):
        per, window = robot.get("per_window", 20), robot.get("window", 60)
        now = time.time()
        with LOCK:
            sent = [t for t in STATE["sent_at"].get(key, []) if now - t < window]
            if len(sent) >= per:
                STATE["sent_at"][key] = sent
                return True
            sent.append(now)
            STATE["sent_at"][key] = sent
        return False

    # --- GET ---------------------------------------------------------------------------------------------------
    def do_GET(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/_received":
            with LOCK:
                return self.answer(STATE["received"])
        if url.path == "/_log":
            with LOCK:
                return self.answer(STATE["log"])
        apps = self.config.get("apps", {})
        if url.path == "/cgi-bin/gettoken":
            app = apps.get("wecom", {})
            if q.get("corpid") != app.get("corpid"):
                self.record("wecom", 40013)
                return self.answer({"errcode": 40013, "errmsg": "invalid corpid"})
            if q.get("corpsecret") != app.get("secret"):
                self.record("wecom", 40001)
                return self.answer({"errcode": 40001, "errmsg": "invalid credential"})
            return self.issue("wecom")
        if url.path == "/gettoken":
            app = apps.get("dingtalk", {})
            if q.get("appkey") != app.get("appkey") or q.get("appsecret") != app.get("appsecret"):
                self.record("dingtalk", 40089)
                return self.answer({"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"})
            return self.issue("dingtalk")
        self.answer({"errcode": 404, "errmsg": "not found"}, 404)

    def issue(self, platform):
        token = secrets.token_hex(16)
        ttl = self.config.get("token_ttl", 7200)
        with LOCK:
            STATE["tokens"][token] = (platform, time.time() + ttl)
        self.record(platform, 0, gettoken=True)
        return self.answer({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": ttl})

    def token_ok(self, platform, token):
        with LOCK:
            t = STATE["tokens"].get(token)
        if not t or t[0] != platform:
            return 40014
        if time.time() > t[1]:
            return 42001
        return 0

    # --- POST --------------------------------------------------------------------------------------------------
    def do_POST(self):
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/_expire_tokens":
            with LOCK:
                STATE["tokens"] = {k: (p, 0) for k, (p, _) in STATE["tokens"].items()}
            return self.answer({"ok": True})
        if url.path == "/_slow":
            STATE["slow_ms"] = int(q.get("ms", "0"))
            return self.answer({"ok": True})
        body = self.body()
        self.sending = True
        robots = self.config.get("robots", {})
        if url.path == "/cgi-bin/webhook/send":
            return self.wecom_robot(q.get("key"), robots.get(q.get("key") or ""), body)
        if url.path == "/robot/send":
            return self.dingtalk_robot(q, robots.get(q.get("access_token") or ""), body)
        if url.path.startswith("/open-apis/bot/v2/hook/"):
            token = url.path.rsplit("/", 1)[1]
            return self.feishu_robot(token, robots.get(token), body)
        if url.path == "/cgi-bin/message/send":
            return self.wecom_app(q.get("access_token"), body)
        if url.path == "/topapi/message/corpconversation/asyncsend_v2":
            return self.dingtalk_app(q.get("access_token"), body)
        self.answer({"errcode": 404, "errmsg": "not found"}, 404)

    def wecom_robot(self, key, robot, body):
        if not robot or robot.get("platform") != "wecom":
            self.record("wecom", 93000)
            return self.answer({"errcode": 93000, "errmsg": "invalid webhook url, hint: [..]"})
        md = (body or {}).get("markdown") or {}
        if (body or {}).get("msgtype") != "markdown" or not isinstance(md.get("content"), str):
            self.record("wecom", 40008)
            return self.answer({"errcode": 40008, "errmsg": "invalid message type"})
        if len(md["content"].encode()) > 4096:
            self.record("wecom", 40058)
            return self.answer({"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"})
        if self.rate_limited(key, robot):
            self.record("wecom", 45009)
            return self.answer({"errcode": 45009, "errmsg": "api freq out of limit"})
        self.deliver("wecom", key, None, None, md["content"])
        self.record("wecom", 0)
        return self.answer({"errcode": 0, "errmsg": "ok"})

    def dingtalk_robot(self, q, robot, body):
        if not robot or robot.get("platform") != "dingtalk":
            self.record("dingtalk", 300001)
            return self.answer({"errcode": 300001, "errmsg": "token is not exist"})
        if robot.get("secret"):
            ts = q.get("timestamp", "")
            good = ts.isdigit() and within_hour(int(ts) / 1000) and ok_sign(robot["secret"], ts, q.get("sign"), False)
            if not good:
                self.record("dingtalk", 310000)
                return self.answer({"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"})
        md = (body or {}).get("markdown") or {}
        if (body or {}).get("msgtype") != "markdown" or not md.get("title") or not isinstance(md.get("text"), str):
            self.record("dingtalk", 40035)
            return self.answer({"errcode": 40035, "errmsg": "缺少参数 markdown.title 或 markdown.text"})
        if len(md["text"].encode()) > 20000:
            self.record("dingtalk", 460101)
            return self.answer({"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"})
        if self.rate_limited(q.get("access_token"), robot):
            self.record("dingtalk", 130101)
            return self.answer({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
        self.deliver("dingtalk", q.get("access_token"), None, md["title"], md["text"])
        self.record("dingtalk", 0)
        return self.answer({"errcode": 0, "errmsg": "ok"})

    def feishu_robot(self, token, robot, body):
        if not robot or robot.get("platform") != "feishu":
            self.record("feishu", 19001)
            return self.answer({"code": 19001, "msg": "param invalid: incoming webhook access token invalid", "data": {}})
        body = body or {}
        if robot.get("secret"):
            ts = str(body.get("timestamp", ""))
            good = ts.isdigit() and within_hour(int(ts)) and ok_sign(robot["secret"], ts, body.get("sign"), True)
            if not good:
                self.record("feishu", 19021)
                return self.answer({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time", "data": {}})
        if self.raw_len > 20 * 1024:
            self.record("feishu", 9499)
            return self.answer({"code": 9499, "msg": "request body too large, limit 20K", "data": {}})
        card = body.get("card") or {}
        elements = card.get("elements") or []
        title = ((card.get("header") or {}).get("title") or {}).get("content")
        md = [e.get("content") for e in elements if e.get("tag") == "markdown"]
        if body.get("msg_type") != "interactive" or not title or len(md) != 1 or not isinstance(md[0], str):
            self.record("feishu", 9499)
            return self.answer({"code": 9499, "msg": "Bad Request: invalid card", "data": {}})
        if self.rate_limited(token, robot):
            self.record("feishu", 11232)
            return self.answer({"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]", "data": {}})
        self.deliver("feishu", token, None, title, md[0])
        self.record("feishu", 0)
        return self.answer({"code": 0, "msg": "success", "data": {}})

    def wecom_app(self, token, body):
        code = self.token_ok("wecom", token)
        if code:
            self.record("wecom", code, app=True)
            return self.answer({"errcode": code, "errmsg": "access_token expired" if code == 42001 else "invalid access_token"})
        app = self.config.get("apps", {}).get("wecom", {})
        body = body or {}
        md = body.get("markdown") or {}
        if body.get("agentid") != app.get("agentid"):
            self.record("wecom", 40056, app=True)
            return self.answer({"errcode": 40056, "errmsg": "invalid agentid"})
        if body.get("msgtype") != "markdown" or not body.get("touser") or not isinstance(md.get("content"), str):
            self.record("wecom", 40008, app=True)
            return self.answer({"errcode": 40008, "errmsg": "invalid message type"})
        if len(md["content"].encode()) > 2048:
            self.record("wecom", 40058, app=True)
            return self.answer({"errcode": 40058, "errmsg": "markdown.content exceed max length 2048"})
        dupe_key = (body["touser"], md["content"])
        interval = body.get("duplicate_check_interval", 1800)
        with LOCK:
            seen = STATE["dupes"].get(dupe_key)
            duplicate = body.get("enable_duplicate_check") == 1 and seen is not None and time.time() - seen < interval
            if not duplicate:
                STATE["dupes"][dupe_key] = time.time()
        if not duplicate:
            self.deliver("wecom", "app", body["touser"].split("|"), None, md["content"])
        self.record("wecom", 0, app=True, duplicate=duplicate)
        return self.answer({"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": secrets.token_hex(8)})

    def dingtalk_app(self, token, body):
        code = self.token_ok("dingtalk", token)
        if code:
            self.record("dingtalk", 88 if code == 42001 else 40014, app=True)
            return self.answer({"errcode": 88 if code == 42001 else 40014, "errmsg": "不合法的access_token"})
        app = self.config.get("apps", {}).get("dingtalk", {})
        body = body or {}
        md = ((body.get("msg") or {}).get("markdown")) or {}
        if body.get("agent_id") != app.get("agent_id") or not body.get("userid_list"):
            self.record("dingtalk", 40035, app=True)
            return self.answer({"errcode": 40035, "errmsg": "缺少参数 agent_id 或 userid_list"})
        if (body.get("msg") or {}).get("msgtype") != "markdown" or not md.get("title") or not isinstance(md.get("text"), str):
            self.record("dingtalk", 40035, app=True)
            return self.answer({"errcode": 40035, "errmsg": "缺少参数 msg.markdown"})
        if len(md["text"].encode()) > 2048:
            self.record("dingtalk", 460101, app=True)
            return self.answer({"errcode": 460101, "errmsg": "message too long"})
        self.deliver("dingtalk", "app", body["userid_list"].split(","), md["title"], md["text"])
        self.record("dingtalk", 0, app=True)
        return self.answer({"errcode": 0, "errmsg": "ok", "task_id": 1, "request_id": secrets.token_hex(6)})


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hung up before its answer (the test that stops a sender mid-send) is no error here.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    port = int(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        Handler.config = json.load(f)
    server = Server(("127.0.0.1", port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
