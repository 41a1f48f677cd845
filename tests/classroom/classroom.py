#!/usr/bin/python3
"""A classroom on one machine, for real: Debian's JupyterHub 3 and its
configurable-http-proxy on loopback, memwall's kernelspec installed
system-wide, N students (Unix users created for the run, logging in with
JupyterHub's DummyAuthenticator), each with a real single-user server
started by the hub, running course cells over the hub's websockets at once.

It measures and checks:
  - every cell completes;
  - total PSS of all kernels against one copy of the weights;
  - each student's latency against running alone;
  - N kernels asking for the same synthetic shape at once write one file;
  - a model file replaced on disk (rename) while mapped in every kernel;
  - a kernel SIGKILLed mid-generation: the others are not disturbed, the
    server restarts it, and the student goes on;
  - a full disk while writing a synthetic model (the class cache is a small
    tmpfs): a clear error, no partial file;
  - one student's token cannot reach another student's kernel.

Needs root (useradd, mount, setuid spawning). Missing tools are a failure
under CI=true and a skip otherwise. Prints its figures, writes them as JSON
to $MEMWALL_ARTIFACTS/classroom.json (default test-artifacts/), and ends with
"classroom: N passed, N failed".

    /usr/bin/python3 tests/classroom/classroom.py --binary bin/memwall [--users 8]
"""

import argparse
import asyncio
import datetime
import json
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

CI = os.environ.get("CI") == "true"
PASSED, FAILED = [], []


def check(ok, what):
    (PASSED if ok else FAILED).append(what)
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    return ok


def missing(msg):
    if CI:
        print("classroom: " + msg + " (a failure under CI=true)")
        print("classroom: 0 passed, 1 failed")
        sys.exit(1)
    print("classroom: SKIP: " + msg)
    sys.exit(0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


try:
    from tornado import httpclient, websocket
except ImportError:
    httpclient = websocket = None


def run(*cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------- the hub


class Hub:
    def __init__(self, root, users, password):
        self.root, self.users, self.password = root, users, password
        self.port, self.hub_port, self.api_port = free_port(), free_port(), free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None

    def config(self):
        return f"""
c.JupyterHub.ip = '127.0.0.1'
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = '127.0.0.1'
c.JupyterHub.hub_port = {self.hub_port}
c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.api_port}'
c.ConfigurableHTTPProxy.pid_file = '{self.root}/proxy.pid'
c.JupyterHub.db_url = 'sqlite:///{self.root}/hub.sqlite'
c.JupyterHub.cookie_secret_file = '{self.root}/cookie_secret'
c.JupyterHub.pid_file = '{self.root}/hub.pid'
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.authenticator_class = 'jupyterhub.auth.DummyAuthenticator'
c.DummyAuthenticator.password = {self.password!r}
c.Authenticator.allowed_users = set({self.users!r})
c.JupyterHub.spawner_class = 'jupyterhub.spawner.LocalProcessSpawner'
c.Spawner.cmd = ['/usr/bin/jupyterhub-singleuser']
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.default_url = '/tree'
c.JupyterHub.log_level = 'INFO'
"""

    def start(self):
        path = os.path.join(self.root, "jupyterhub_config.py")
        with open(path, "w") as f:
            f.write(self.config())
        self.log = open(os.path.join(self.root, "hub.log"), "w")
        env = dict(os.environ)
        # Debian's configurable-http-proxy keeps its modules in
        # /usr/share/nodejs, where Debian's node looks; a node from
        # elsewhere (NodeSource's) needs to be told.
        env["NODE_PATH"] = ":".join(p for p in ["/usr/share/nodejs", "/usr/lib/nodejs", env.get("NODE_PATH", "")] if p)
        self.proc = subprocess.Popen(["/usr/bin/jupyterhub", "-f", path], cwd=self.root, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def http(method, url, token=None, body=None, headers=None, ok=(200, 201, 202, 204)):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "token " + token
    req = httpclient.HTTPRequest(url, method=method, headers=h, follow_redirects=False,
                                 body=None if body is None else json.dumps(body),
                                 allow_nonstandard_methods=True, request_timeout=180)
    try:
        r = await httpclient.AsyncHTTPClient().fetch(req, raise_error=False)
    except Exception as e:  # connection refused while starting
        return 0, str(e)
    text = r.body.decode() if r.body else ""
    return r.code, text


# ---------------------------------------------------------------- a student


class Student:
    def __init__(self, hub, name, kernel_name):
        self.hub, self.name, self.kernel_name = hub, name, kernel_name
        self.token = None
        self.kernel_id = None
        self.ws = None
        self.session = uuid.uuid4().hex
        self.latencies = {}
        self.pending = {}
        self.reader = None

    @property
    def base(self):
        return f"{self.hub.url}/user/{self.name}"

    async def login(self):
        # JupyterHub's token API takes the authenticator's credentials in
        # the body when the request carries no cookie or token.
        code, text = await http("POST", f"{self.hub.url}/hub/api/users/{self.name}/tokens",
                                body={"auth": {"username": self.name, "password": self.hub.password}, "note": "classroom test"})
        if code not in (200, 201):
            raise RuntimeError(f"{self.name}: token request: {code} {text[:200]}")
        self.token = json.loads(text)["token"]

    async def start_server(self):
        code, text = await http("POST", f"{self.hub.url}/hub/api/users/{self.name}/server", self.token, body={})
        if code not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"{self.name}: start server: {code} {text[:300]}")
        deadline = time.time() + 150
        while time.time() < deadline:
            code, text = await http("GET", f"{self.hub.url}/hub/api/users/{self.name}", self.token)
            if code == 200:
                srv = json.loads(text).get("servers", {}).get("", {})
                if srv.get("ready"):
                    return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"{self.name}: server not ready after 150 s")

    async def start_kernel(self):
        code, text = await http("POST", f"{self.base}/api/kernels", self.token, body={"name": self.kernel_name})
        if code not in (200, 201):
            raise RuntimeError(f"{self.name}: start kernel: {code} {text[:300]}")
        self.kernel_id = json.loads(text)["id"]
        await self.connect()

    async def connect(self):
        if self.ws is not None:
            self.ws.close()
        url = f"ws://127.0.0.1:{self.hub.port}/user/{self.name}/api/kernels/{self.kernel_id}/channels?session_id={self.session}"
        req = httpclient.HTTPRequest(url, headers={"Authorization": "token " + self.token}, request_timeout=180)
        self.ws = await websocket.websocket_connect(req)
        self.reader = asyncio.ensure_future(self.read())

    async def read(self):
        ws = self.ws
        while True:
            msg = await ws.read_message()
            if msg is None:
                for p in self.pending.values():
                    if not p["done"].done():
                        p["done"].set_exception(RuntimeError("websocket closed"))
                return
            if isinstance(msg, bytes):
                continue
            m = json.loads(msg)
            pid = m.get("parent_header", {}).get("msg_id")
            p = self.pending.get(pid)
            if p is None:
                continue
            t, c = m["msg_type"], m["content"]
            if t == "stream":
                p["text"] += c.get("text", "")
                if c.get("name") == "stdout":
                    p["stream"] += c.get("text", "")
            elif t in ("display_data", "execute_result"):
                p["text"] += c.get("data", {}).get("text/plain", "") + "\n"
            elif t == "error":
                p["error"] = c.get("ename", "") + ": " + c.get("evalue", "")
            elif t == "execute_reply":
                p["reply"] = c
            elif t == "status" and c.get("execution_state") == "idle":
                p["idle"] = True
            if p.get("reply") is not None and p.get("idle") and not p["done"].done():
                p["done"].set_result(None)

    async def execute(self, code, timeout=300):
        mid = uuid.uuid4().hex
        fut = asyncio.get_event_loop().create_future()
        self.pending[mid] = {"text": "", "stream": "", "error": None, "reply": None, "idle": False, "done": fut}
        msg = {"header": {"msg_id": mid, "username": self.name, "session": self.session, "msg_type": "execute_request",
                          "version": "5.3", "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
               "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
               "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}
        t0 = time.perf_counter()
        await self.ws.write_message(json.dumps(msg))
        await asyncio.wait_for(fut, timeout)
        el = time.perf_counter() - t0
        p = self.pending.pop(mid)
        return {"status": p["reply"].get("status"), "text": p["text"], "stream": p["stream"], "error": p["error"], "seconds": el}

    def kernel_pids(self):
        return kernel_pids([pwd.getpwnam(self.name).pw_uid])


def kernel_pids(uids):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = os.stat("/proc/" + d)
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if st.st_uid not in uids:
            continue
        if len(argv) >= 2 and argv[0].endswith(b"/memwall") and argv[1] == b"kernel":
            out.append(int(d))
    return sorted(out)


def smaps(pid):
    r = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[0].endswith(":") and parts[2] == "kB":
                r[parts[0][:-1]] = int(parts[1]) * 1024
    return r


# ---------------------------------------------------------------- the run


async def classroom(args, root, hub, students, model, cache):
    MiB = 1 << 20
    fig = {"users": len(students), "cores": os.cpu_count()}

    # Logins, servers and kernels, all at once.
    t0 = time.time()
    await asyncio.gather(*(s.login() for s in students))
    check(all(s.token for s in students), f"{len(students)} students logged in through the hub's API")
    await asyncio.gather(*(s.start_server() for s in students))
    check(True, f"{len(students)} single-user servers started by the hub ({time.time() - t0:.1f} s)")
    await asyncio.gather(*(s.start_kernel() for s in students))
    uids = [pwd.getpwnam(s.name).pw_uid for s in students]
    pids = kernel_pids(uids)
    check(len(pids) >= len(students), f"{len(students)} memwall kernels running, one per student (found {len(pids)} processes)")
    fig["startup_s"] = round(time.time() - t0, 1)

    async def everyone(code, who=None, timeout=300):
        who = who or students
        return await asyncio.gather(*(s.execute(code, timeout) for s in who))

    def all_ok(results, what):
        bad = [(s.name, r["error"]) for s, r in zip(students, results) if r["status"] != "ok"]
        return check(not bad, what + ("" if not bad else f": {bad[:3]}"))

    # The same synthetic shape asked for by every kernel at once: one file.
    res = await everyone("%load --shape stories15M")
    all_ok(res, "every kernel loaded a stories15M-shape synthetic model, all asking at once")
    files = sorted(os.listdir(cache))
    bins = [f for f in files if f.endswith(".bin")]
    check(bins == ["stories15M-seed1-v1.bin"] and not any(".tmp" in f for f in files),
          f"the shared cache holds one file for them all, no temporary file ({files})")

    # The class model, mapped by everyone.
    res = await everyone(f"%load {model}")
    all_ok(res, "every kernel loaded the class model (stories42M shape, 166 MB) from the system-wide model directory")
    gen = "%generate -n 24 Once upon a time"
    # Alone (the first student, the others idle) and together (everyone at
    # once), interleaved: alone, together, alone, together... so that a
    # change in the machine's load (other work on it) hits both alike.
    await students[0].execute(gen)  # warm the page cache
    solo = []
    together = {s.name: [] for s in students}
    texts = {}
    for _ in range(3):
        solo.append((await students[0].execute(gen))["seconds"])
        res = await everyone(gen)
        all_ok(res, "a round of %generate in every kernel at once")
        for s, r in zip(students, res):
            together[s.name].append(r["seconds"])
            texts[s.name] = r["stream"]
    fig["solo_s"] = [round(x, 3) for x in solo]
    med_solo = statistics.median(solo)
    ratios = {n: statistics.median(v) / med_solo for n, v in together.items()}
    fig["together_s_median"] = {n: round(statistics.median(v), 3) for n, v in together.items()}
    fig["latency_ratio"] = {n: round(r, 2) for n, r in ratios.items()}
    print(f"      latency: alone {med_solo:.3f} s per cell; together median ratio {statistics.median(ratios.values()):.2f}, max {max(ratios.values()):.2f} ({len(students)} users on {os.cpu_count()} cores)")
    check(len(set(texts.values())) == 1 and all(texts.values()), f"every kernel generated the same text from the same weights ({len(set(texts.values()))} distinct)")

    # Course cells.
    for code in ["%tokens Once upon a time there was a dragon", "%topk -k 5", "%cache blocks.0.hook_resid_post blocks.*.attn.hook_pattern",
                 "%activations blocks.0.hook_resid_post", "%shapes", "%tying", "%config", "%reset"]:
        res = await everyone(code)
        all_ok(res, f"{code!r} in every kernel at once")

    # Memory: PSS of all kernels against one copy of the weights.
    msize = os.path.getsize(model)
    await everyone(gen)
    rows = [smaps(p) for p in kernel_pids(uids)]
    pss = sum(r.get("Pss", 0) for r in rows)
    pss_file = sum(r.get("Pss_File", 0) for r in rows)
    pss_anon = sum(r.get("Pss_Anon", 0) for r in rows)
    rss = sum(r.get("Rss", 0) for r in rows)
    fig.update(model_bytes=msize, kernels=len(rows), rss_total=rss, pss_total=pss, pss_file=pss_file, pss_anon=pss_anon)
    print(f"      memory: {len(rows)} kernels, RSS {rss / MiB:.0f} MiB in all, PSS {pss / MiB:.0f} MiB in all "
          f"(file {pss_file / MiB:.0f}, anon {pss_anon / MiB:.0f}); the model is {msize / MiB:.0f} MiB, N copies would be {len(rows) * msize / MiB:.0f} MiB")
    check(pss < msize + len(rows) * 64 * MiB and pss < 0.6 * len(rows) * msize,
          f"total PSS {pss / MiB:.0f} MiB is one copy of the weights plus each kernel's own memory, not {len(rows)} copies")

    # The model file replaced on disk while every kernel has it mapped. The
    # next-token probabilities are the weights' fingerprint (greedy text
    # from random weights is often the same for any seed).
    probe = "%generate -n 0 Once upon a time\n%topk -k 5"
    before = await everyone(probe)
    all_ok(before, "next-token probabilities in every kernel")
    new = model + ".new"
    run(args.binary, "gen", "--shape", "stories42M", "--seed", "2", "-o", new)
    os.rename(new, model)
    res = await everyone(gen)
    all_ok(res, "after the model file was replaced (rename), every kernel still generates")
    after = await everyone(probe)
    check(all(a["status"] == "ok" and a["text"] == b["text"] for a, b in zip(after, before)),
          "…with the weights it had mapped (the replaced file stays until unmapped: same probabilities)")
    r = await students[0].execute(f"%load {model}\n{probe}")
    check(r["status"] == "ok" and before[0]["text"] not in r["text"], "a fresh %load maps the new file (different probabilities)")

    # SIGKILL mid-generation.
    victim = students[-1]
    vpids = victim.kernel_pids()
    long_cell = asyncio.ensure_future(victim.execute("%generate -n 900 Once upon a time", timeout=120))
    await asyncio.sleep(1.0)
    os.kill(vpids[0], signal.SIGKILL)
    others = students[:-1]
    t0 = time.time()
    res = await asyncio.gather(*(s.execute(gen) for s in others))
    ok = all(r["status"] == "ok" for r in res)
    check(ok, f"{victim.name}'s kernel SIGKILLed mid-generation: the {len(others)} others' cells completed ({time.time() - t0:.1f} s)")
    try:
        await asyncio.wait_for(long_cell, 15)
        killed_reply = "replied"
    except Exception as e:
        killed_reply = type(e).__name__
    victim.pending.clear()
    new_pids = []
    deadline = time.time() + 60
    while time.time() < deadline:
        new_pids = [p for p in victim.kernel_pids() if p not in vpids]
        if new_pids:
            break
        await asyncio.sleep(0.5)
    check(bool(new_pids), f"the server restarted {victim.name}'s kernel (pid {vpids[0]} → {new_pids})")
    await asyncio.sleep(1.0)
    r = None
    for attempt in range(20):
        try:
            await victim.connect()
            r = await victim.execute(f"%load {model}\n{gen}", timeout=120)
            if r["status"] == "ok":
                break
        except Exception as e:
            r = {"status": "error", "error": str(e)}
        await asyncio.sleep(1)
    check(r is not None and r["status"] == "ok", f"{victim.name} goes on after the restart ({r and r.get('error')})")
    fig["killed_cell"] = killed_reply

    # A full disk while writing a synthetic model into the class cache.
    r = await students[1].execute("%load --shape stories110M")
    files = os.listdir(cache)
    check(r["status"] == "error" and "space" in (r["error"] or ""), f"stories110M (438 MB) into the {args.cache_size} class cache: {r['error']}")
    check(not any(".tmp" in f for f in files) and "stories110M-seed1-v1.bin" not in files, f"…and no partial file is left ({files})")
    res = await asyncio.gather(*(s.execute(gen) for s in students[1:3]))
    check(all(x["status"] == "ok" for x in res), "…and that kernel and its neighbours go on")

    # One student's token against another's server and kernel.
    a, b = students[0], students[1]
    code, text = await http("GET", f"{b.base}/api/kernels", a.token)
    check(code in (302, 401, 403, 404), f"{a.name}'s token on {b.name}'s kernels API: HTTP {code}")
    code, text = await http("POST", f"{b.base}/api/kernels/{b.kernel_id}/interrupt", a.token)
    check(code in (302, 401, 403, 404), f"{a.name}'s token interrupting {b.name}'s kernel: HTTP {code}")
    code, text = await http("GET", f"{b.base}/api/kernels", None)
    check(code in (302, 401, 403, 404), f"no token on {b.name}'s kernels API: HTTP {code}")
    try:
        url = f"ws://127.0.0.1:{hub.port}/user/{b.name}/api/kernels/{b.kernel_id}/channels"
        ws = await websocket.websocket_connect(httpclient.HTTPRequest(url, headers={"Authorization": "token " + a.token}, request_timeout=20))
        ws.close()
        check(False, f"{a.name}'s token opened a websocket to {b.name}'s kernel")
    except Exception as e:
        check(True, f"{a.name}'s token cannot open a websocket to {b.name}'s kernel ({type(e).__name__}: {str(e)[:60]})")
    r = await b.execute("%tokens still mine")
    check(r["status"] == "ok", f"{b.name}'s own kernel still answers {b.name}")
    return fig


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--cache-size", default="300m")
    ap.add_argument("--timeout", type=int, default=900)
    args = ap.parse_args()
    args.binary = os.path.abspath(args.binary)
    if httpclient is None:
        missing("Debian's python3-tornado is missing")
    for tool in ["/usr/bin/jupyterhub", "/usr/bin/configurable-http-proxy", "/usr/bin/jupyterhub-singleuser"]:
        if not os.path.exists(tool):
            missing(f"{tool} is missing (Debian packages jupyterhub, node-configurable-http-proxy)")
    if os.geteuid() != 0:
        missing("needs root (useradd, mount, spawning as other users)")

    tag = uuid.uuid4().hex[:6]
    root = tempfile.mkdtemp(prefix="memwall-classroom-")
    os.chmod(root, 0o755)
    users = [f"mwc{tag}{i}" for i in range(args.users)]
    kernel_name = "memwall-classroom-" + tag
    made_users, mounted, installed = [], False, False
    hub = Hub(root, users, uuid.uuid4().hex)
    fig = {}
    try:
        # The administrator's part: binary, models, the class cache, the
        # system-wide kernelspec that points every kernel at them.
        bindir, models, cache = (os.path.join(root, d) for d in ("bin", "models", "cache"))
        for d in (bindir, models, cache):
            os.mkdir(d)
            os.chmod(d, 0o755)
        binary = os.path.join(bindir, "memwall")
        shutil.copy(args.binary, binary)
        os.chmod(binary, 0o755)
        run("mount", "-t", "tmpfs", "-o", f"size={args.cache_size},mode=1777", "tmpfs", cache)
        mounted = True
        model = os.path.join(models, "class.bin")
        run(binary, "gen", "--shape", "stories42M", "-o", model)
        os.chmod(model, 0o644)
        args.binary = binary
        run(binary, "install", "--prefix", "/usr/local", "--name", kernel_name, "--display-name", "memwall (classroom test)",
            "--env", "MEMWALL_CACHE_DIR=" + cache, "--env", "MEMWALL_MEMORY_LIMIT=2GiB", "--env", "MEMWALL_CAPTURE_BUDGET=256MiB")
        installed = True
        for u in users:
            run("useradd", "--create-home", "--shell", "/bin/bash", u)
            made_users.append(u)
        hub.start()
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", hub.port), 1).close()
                break
            except OSError:
                if time.time() > deadline or hub.proc.poll() is not None:
                    raise RuntimeError("the hub did not start; see " + os.path.join(root, "hub.log"))
                time.sleep(0.3)
        time.sleep(1)
        students = [Student(hub, u, kernel_name) for u in users]
        t0 = time.time()
        fig = asyncio.run(asyncio.wait_for(classroom(args, root, hub, students, model, cache), args.timeout))
        fig["run_s"] = round(time.time() - t0, 1)
        print(f"      the classroom run took {fig['run_s']} s")
    except Exception as e:
        check(False, f"the classroom run: {type(e).__name__}: {e}")
        try:
            with open(os.path.join(root, "hub.log")) as f:
                print("---- hub.log (last 40 lines)\n" + "".join(f.readlines()[-40:]))
        except OSError:
            pass
    finally:
        hub.stop()
        for u in made_users:  # what the test started as its users, by pid
            uid = pwd.getpwnam(u).pw_uid
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        if os.stat("/proc/" + d).st_uid == uid:
                            os.kill(int(d), signal.SIGKILL)
                    except OSError:
                        pass
        time.sleep(0.5)
        for u in made_users:
            subprocess.run(["userdel", "--remove", u], capture_output=True)
        if installed:
            subprocess.run([args.binary, "install", "--prefix", "/usr/local", "--name", kernel_name, "--uninstall"], capture_output=True)
        if mounted:
            subprocess.run(["umount", os.path.join(root, "cache")], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    art = os.environ.get("MEMWALL_ARTIFACTS", "test-artifacts")
    os.makedirs(art, exist_ok=True)
    with open(os.path.join(art, "classroom.json"), "w") as f:
        json.dump({"figures": fig, "passed": PASSED, "failed": FAILED}, f, indent=1)
    print(f"classroom: {len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
