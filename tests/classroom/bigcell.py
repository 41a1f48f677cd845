#!/usr/bin/python3
"""A 50 MB cell sent to a real memwall kernel process through jupyter_client:
it is refused at once with a clear error, the kernel's RSS grows by a bounded
amount (the message has to be received and decoded once; asserted < 256 MiB,
and printed), and the next cell runs. Prints "bigcell: N passed, N failed".

    /usr/bin/python3 tests/classroom/bigcell.py --binary bin/memwall
"""
import argparse, os, sys, tempfile, time, json, shutil, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--binary", required=True)
args = ap.parse_args()
try:
    import jupyter_client
except ImportError:
    print("bigcell: python3-jupyter-client missing" + (" (a failure under CI=true)" if os.environ.get("CI") == "true" else ", skipped"))
    sys.exit(1 if os.environ.get("CI") == "true" else 0)

passed, failed = [], []
def check(ok, what):
    (passed if ok else failed).append(what)
    print(("ok    " if ok else "FAIL  ") + what, flush=True)

def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0

tmp = tempfile.mkdtemp()
subprocess.run([os.path.abspath(args.binary), "install", "--prefix", tmp, "--name", "memwall-bigcell"], check=True, capture_output=True)
os.environ["JUPYTER_PATH"] = os.path.join(tmp, "share", "jupyter")
os.environ["MEMWALL_CACHE_DIR"] = os.path.join(tmp, "cache")
km, kc = jupyter_client.manager.start_new_kernel(kernel_name="memwall-bigcell")
try:
    pid = km.provisioner.process.pid if hasattr(km, "provisioner") and km.provisioner else km.kernel.pid
    r = kc.execute_interactive("%load --shape stories260K\n%tokens Once upon a time", timeout=60, output_hook=lambda m: None)
    check(r["content"]["status"] == "ok", "the kernel runs a first cell")
    before = rss(pid)
    big = "%%tokens\n" + "Once upon a time there was a girl. " * (50 * 2**20 // 35)
    errs = []
    t0 = time.time()
    r = kc.execute_interactive(big, timeout=120, output_hook=lambda m: errs.append(m["content"]) if m["msg_type"] == "error" else None)
    el = time.time() - t0
    after = rss(pid)
    msg = errs[0]["evalue"] if errs else ""
    check(r["content"]["status"] == "error" and "max_cell" in msg, f"a {len(big) / 2**20:.0f} MiB cell is refused in {el:.2f} s: {msg[:120]}")
    grew = after - before
    print(f"      RSS {before / 2**20:.1f} MiB before, {after / 2**20:.1f} MiB after the 50 MiB cell (+{grew / 2**20:.1f} MiB)")
    check(grew < 256 * 2**20, f"the kernel's RSS grew by {grew / 2**20:.0f} MiB (bound 256 MiB)")
    r = kc.execute_interactive("%tokens the next cell", timeout=60, output_hook=lambda m: None)
    check(r["content"]["status"] == "ok", "the next cell runs")
    print(json.dumps({"cell_bytes": len(big), "seconds": round(el, 3), "rss_before": before, "rss_after": after}))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    shutil.rmtree(tmp, ignore_errors=True)
print(f"bigcell: {len(passed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
