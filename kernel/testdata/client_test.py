"""Drive a Go kernel with the real jupyter_client, as notebooks do.

usage: python3 client_test.py KERNEL_NAME...

Each kernelspec must run package kernel's toy test kernel. Exits non-zero
(with a message) on the first failed check.
"""
import inspect
import sys
import time

from jupyter_client.manager import KernelManager

TIMEOUT = 20


def check(cond, what, detail=""):
    if not cond:
        print("FAIL:", what, detail, file=sys.stderr, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def get_msg(channel):
    # control_channel.get_msg is a coroutine function in some jupyter_client versions
    if inspect.iscoroutinefunction(channel.get_msg):
        from jupyter_client.utils import run_sync
        return run_sync(channel.get_msg)(timeout=TIMEOUT)
    return channel.get_msg(timeout=TIMEOUT)


def shell_reply(kc, msg_id):
    while True:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def control_request(kc, msg_type, content=None):
    msg = kc.session.msg(msg_type, content or {})
    kc.control_channel.send(msg)
    while True:
        reply = get_msg(kc.control_channel)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            return reply


def run(name):
    km = KernelManager(kernel_name=name)
    t0 = time.time()
    km.start_kernel()
    try:
        run_checks(name, km, t0)
    finally:
        if km.is_alive():
            km.shutdown_kernel(now=True)


def run_checks(name, km, t0):
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=TIMEOUT)
    print(f"[{name}] ready after {time.time() - t0:.3f}s, interrupt_mode={km.kernel_spec.interrupt_mode}", flush=True)

    # kernel_info on shell and control
    reply = kc.kernel_info(reply=True, timeout=TIMEOUT)
    c = reply["content"]
    check(c["status"] == "ok" and c["language_info"]["name"] == "toy", "kernel_info on shell", c)
    check(c["protocol_version"] >= "5.3", "protocol version", c["protocol_version"])
    reply = control_request(kc, "kernel_info_request")
    check(reply["msg_type"] == "kernel_info_reply" and reply["content"]["status"] == "ok", "kernel_info on control", reply)

    # execute with streams and rich output
    outputs = []
    reply = kc.execute_interactive(
        "echo hello\ntokens 1000\nstderr warn\ndisplay d1 <i>x</i>\nupdate d1 y\nresult 42",
        output_hook=outputs.append, timeout=TIMEOUT)
    check(reply["content"]["status"] == "ok", "execute ok", reply["content"])
    types = [m["msg_type"] for m in outputs]
    stdout = "".join(m["content"]["text"] for m in outputs
                     if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
    check(stdout == "hello\n" + "tok " * 1000, "stdout text", repr(stdout[:80]))
    check(types.count("stream") <= 4, "streams coalesced", types)
    check("stderr" in [m["content"].get("name") for m in outputs], "stderr stream", types)
    disp = [m for m in outputs if m["msg_type"] == "display_data"]
    check(len(disp) == 1 and disp[0]["content"]["data"]["text/html"] == "<b><i>x</i></b>"
          and disp[0]["content"]["transient"]["display_id"] == "d1", "display_data", disp)
    upd = [m for m in outputs if m["msg_type"] == "update_display_data"]
    check(len(upd) == 1 and upd[0]["content"]["transient"]["display_id"] == "d1", "update_display_data", upd)
    res = [m for m in outputs if m["msg_type"] == "execute_result"]
    check(len(res) == 1 and res[0]["content"]["data"]["text/plain"] == "42"
          and res[0]["content"]["execution_count"] == reply["content"]["execution_count"], "execute_result", res)

    # errors
    outputs = []
    reply = kc.execute_interactive("fail oh no", output_hook=outputs.append, timeout=TIMEOUT)
    c = reply["content"]
    check(c["status"] == "error" and c["ename"] == "ToyError" and isinstance(c["traceback"], list), "error reply", c)
    check(any(m["msg_type"] == "error" for m in outputs), "error on iopub", outputs)

    # complete (code points), inspect, is_complete
    c = kc.complete("😀 ec", 4, reply=True, timeout=TIMEOUT)["content"]
    check(c["matches"] == ["echo"] and c["cursor_start"] == 2 and c["cursor_end"] == 4, "complete", c)
    c = kc.inspect("echo", 2, reply=True, timeout=TIMEOUT)["content"]
    check(c["found"] and "text/plain" in c["data"], "inspect", c)
    msg_id = kc.is_complete("echo a \\")
    c = shell_reply(kc, msg_id)["content"]
    check(c["status"] == "incomplete" and c["indent"] == "  ", "is_complete", c)

    # history, comm_info
    c = kc.history(hist_access_type="tail", n=2, output=False, raw=True, reply=True, timeout=TIMEOUT)["content"]
    check(c["status"] == "ok" and [h[2] for h in c["history"]][-1] == "fail oh no", "history tail", c)
    c = kc.history(hist_access_type="search", pattern="echo*", output=False, raw=True, reply=True, timeout=TIMEOUT)["content"]
    check(len(c["history"]) == 1, "history search", c)
    c = kc.comm_info(reply=True, timeout=TIMEOUT)["content"]
    check(c["status"] == "ok" and c["comms"] == {}, "comm_info", c)

    # input
    outputs = []
    reply = kc.execute_interactive("input your name?", allow_stdin=True, output_hook=outputs.append,
                                   stdin_hook=lambda msg: kc.input("ada"), timeout=TIMEOUT)
    text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    check(reply["content"]["status"] == "ok" and text == "got: ada\n", "input", (reply["content"], text))

    # interrupt, by the kernelspec's mode
    msg_id = kc.execute("spin")
    time.sleep(0.3)
    t1 = time.time()
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    dt = time.time() - t1
    check(reply["parent_header"]["msg_id"] == msg_id and reply["content"]["status"] == "error"
          and reply["content"]["ename"] == "KeyboardInterrupt", "interrupt", reply["content"])
    print(f"[{name}] interrupt took {dt * 1000:.1f} ms", flush=True)
    check(dt < 1.0, "interrupt promptly", dt)
    # the other mode too: a message on control always works
    msg_id = kc.execute("sleep 1h")
    time.sleep(0.2)
    control_request(kc, "interrupt_request")
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    check(reply["content"].get("ename") == "KeyboardInterrupt", "interrupt_request on control", reply["content"])
    reply = kc.execute_interactive("echo after", timeout=TIMEOUT, output_hook=lambda m: None)
    check(reply["content"]["status"] == "ok", "cell after interrupt", reply["content"])

    # shutdown
    proc = km.provisioner.process if km.provisioner is not None else None
    t2 = time.time()
    km.shutdown_kernel(now=False)
    dt = time.time() - t2
    check(not km.is_alive(), "kernel stopped")
    if proc is not None:
        check(proc.returncode == 0, "kernel exited cleanly", proc.returncode)
    print(f"[{name}] shutdown took {dt * 1000:.1f} ms", flush=True)
    check(dt < 3.0, "shutdown promptly", dt)
    kc.stop_channels()


if __name__ == "__main__":
    for name in sys.argv[1:]:
        run(name)
    print("all checks passed", flush=True)
