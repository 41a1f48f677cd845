"""Drive memwall's %explore widgets with the real jupyter_client.

usage: python3 explore_client.py KERNEL_NAME

The kernelspec must run the memwall binary with stories260K on its model
search path. Plays the front end's part of the widget protocol: reads the
comm_open messages of %explore, moves the layer slider with a comm_msg
update and checks that the kernel sends the view of that layer back within
a second; lists the comms with comm_info_request; asks the control comm for
every state; sends an out-of-range value. Exits non-zero (with a message) on
the first failed check.
"""
import sys
import time

from jupyter_client.manager import KernelManager

TIMEOUT = 30


def check(cond, what, detail=""):
    if not cond:
        print("FAIL:", what, detail, file=sys.stderr, flush=True)
        sys.exit(1)
    print("ok:", what, flush=True)


def until_idle(kc, msg_id, timeout=TIMEOUT):
    """iopub messages whose parent is msg_id, up to its status idle."""
    out = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
    check(False, "idle for %s" % msg_id)


def shell_reply(kc, msg_id):
    while True:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def execute(kc, code):
    msg_id = kc.execute(code)
    reply = shell_reply(kc, msg_id)
    return reply, until_idle(kc, msg_id)


def comm_send(kc, msg_type, content):
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def updates_for(msgs, comm_id):
    return [m["content"]["data"] for m in msgs
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id]


def opened(msgs):
    return {m["content"]["comm_id"]: m["content"]["data"]["state"] for m in msgs if m["msg_type"] == "comm_open"}


def find(models, name, description=None, cls=None):
    ids = [i for i, st in models.items() if st["_model_name"] == name
           and (description is None or st.get("description") == description)
           and (cls is None or cls in st.get("_dom_classes", []))]
    check(len(ids) == 1, "one %s %s" % (name, description or cls or ""), len(ids))
    return ids[0]


def click(kc, button):
    return comm_send(kc, "comm_msg", {"comm_id": button, "data": {"method": "custom", "content": {"event": "click"}}})


def last_state(msgs, comm_id, key):
    vals = [d["state"][key] for d in updates_for(msgs, comm_id) if key in d.get("state", {})]
    return vals[-1] if vals else None


def outputs_text(outputs):
    parts = []
    for o in outputs or []:
        parts.append(o.get("text", ""))
        parts.append(o.get("data", {}).get("text/plain", ""))
        parts.append(o.get("evalue", ""))
    return "".join(parts)


def step_ui(kc):
    reply, _ = execute(kc, "%generate -n 0 Once upon a time")
    check(reply["content"]["status"] == "ok", "context for %step --ui")
    reply, msgs = execute(kc, "%step --ui")
    check(reply["content"]["status"] == "ok", "%step --ui runs", reply["content"])
    models = opened(msgs)
    layer = find(models, "ButtonModel", "Next layer")
    op = find(models, "ButtonModel", "Next op")
    cont = find(models, "ButtonModel", "Continue")
    outs = [i for i, st in models.items() if st["_model_name"] == "OutputModel"]
    msgs = until_idle(kc, click(kc, layer))
    text = "".join(outputs_text(last_state(msgs, o, "outputs")) for o in outs)
    check("step 1" in text and "layer 0 of 5" in text, "Next layer shows the first layer's step", text[:300])
    msgs = until_idle(kc, click(kc, op))
    text = "".join(outputs_text(last_state(msgs, o, "outputs")) for o in outs)
    check("step 2" in text, "Next op shows the next hook point", text[:300])
    msgs = until_idle(kc, click(kc, cont))
    text = "".join(outputs_text(last_state(msgs, o, "outputs")) for o in outs)
    check("next token" in text, "Continue finishes the token", text[:300])


def generate_ui(kc):
    # A model slow enough that Stop lands mid-generation: synthetic
    # stories15M-shape weights (written once into the cache).
    reply, _ = execute(kc, "%load --shape stories15M")
    check(reply["content"]["status"] == "ok", "%load --shape stories15M", reply["content"])
    reply, msgs = execute(kc, "%generate --ui -n 200 Once upon a time")
    check(reply["content"]["status"] == "ok", "%generate --ui runs", reply["content"])
    models = opened(msgs)
    for d in ("temperature", "top-p"):
        find(models, "FloatSliderModel", d)
    find(models, "IntSliderModel", "top-k")
    find(models, "BoundedIntTextModel", "seed")
    gen = find(models, "ButtonModel", "Generate")
    stop = find(models, "ButtonModel", "Stop")
    status = find(models, "HTMLModel", cls="memwall-status")
    outs = [i for i, st in models.items() if st["_model_name"] == "OutputModel"]
    gen_id = click(kc, gen)
    # Wait for the first generated token (after the echoed prompt), then
    # press Stop.
    seen, t_stop = [], None
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        seen.append(m)
        if m["parent_header"].get("msg_id") != gen_id:
            continue
        if any(len(outputs_text(last_state([m], o, "outputs")).strip()) > len("Once upon a time") for o in outs):
            t_stop = time.time()
            stop_id = click(kc, stop)
            break
    check(t_stop is not None, "Generate streams tokens into the Output widget")
    rest = []
    while True:
        m = kc.get_iopub_msg(timeout=TIMEOUT)
        rest.append(m)
        if m["parent_header"].get("msg_id") == gen_id and m["msg_type"] == "status" \
                and m["content"]["execution_state"] == "idle":
            break
    stopped_after = time.time() - t_stop
    st = last_state(seen + rest, status, "value") or ""
    check("stopped" in st, "Stop interrupted the generation", st)
    check(stopped_after < 2, "the generation stopped within 2 s of Stop (%.0f ms)" % (1000 * stopped_after))
    text = "".join(outputs_text(last_state(seen + rest, o, "outputs")) for o in outs)
    check("stopped: interrupted" in text, "the Output's summary says the generation was interrupted", text[-300:])
    check("[200 tokens" not in text, "Stop came before the 200 tokens were done")
    until_idle(kc, stop_id)
    print("Stop took %.0f ms" % (1000 * stopped_after), flush=True)


def main(name):
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=TIMEOUT)
        reply, _ = execute(kc, "%load stories260K")
        check(reply["content"]["status"] == "ok", "%load stories260K", reply["content"])

        reply, msgs = execute(kc, "%explore Once upon a time")
        check(reply["content"]["status"] == "ok", "%explore runs", reply["content"])
        models = {}
        opens = [m for m in msgs if m["msg_type"] == "comm_open"]
        for m in opens:
            models[m["content"]["comm_id"]] = m["content"]["data"]["state"]
        check(opens and all(m["content"]["target_name"] == "jupyter.widget" for m in opens),
              "%d comm_open messages for jupyter.widget" % len(opens))
        check(all(m["metadata"].get("version") == "2.1.0" for m in opens), "widget protocol 2.1.0 in their metadata")
        sliders = [i for i, s in models.items() if s["_model_name"] == "IntSliderModel" and s["description"] == "layer"]
        check(len(sliders) == 1, "one IntSlider described 'layer'", [s["_model_name"] for s in models.values()])
        slider = sliders[0]
        st = models[slider]
        check(st["_model_module"] == "@jupyter-widgets/controls" and st["_model_module_version"] == "2.0.0",
              "IntSlider module", st)
        check(st["min"] == 0 and st["max"] == 4 and st["value"] == 0, "layer slider over stories260K's 5 layers", st)
        heads = [i for i, s in models.items() if s["_model_name"] == "DropdownModel" and s["description"] == "head"]
        check(len(heads) == 1, "a Dropdown described 'head'")
        status = [i for i, s in models.items() if s["_model_name"] == "HTMLModel" and "memwall-status" in s["_dom_classes"]]
        picture = [i for i, s in models.items() if s["_model_name"] == "HTMLModel" and "memwall-picture" in s["_dom_classes"]]
        check(len(status) == 1 and len(picture) == 1, "status and picture HTML widgets")
        status, picture = status[0], picture[0]
        check("<svg" in models[picture]["value"], "the picture is an SVG")
        check("layer 0" in models[status]["value"], "status names layer 0", models[status]["value"])
        displays = [m for m in msgs if m["msg_type"] == "display_data"]
        check(len(displays) == 1, "one display")
        data = displays[0]["content"]["data"]
        view = data.get("application/vnd.jupyter.widget-view+json", {})
        check(models.get(view.get("model_id"), {}).get("_model_name") == "VBoxModel", "the display shows the VBox", view)
        check("text/plain" in data and "<svg" in data.get("image/svg+xml", ""), "static fallback: text/plain and SVG",
              list(data))

        # comm_info_request lists the comms (all of them, and by target).
        msg_id = kc.comm_info()
        comms = shell_reply(kc, msg_id)["content"]["comms"]
        check(set(models) <= set(comms), "comm_info lists every widget comm", len(comms))
        check(all(comms[i]["target_name"] == "jupyter.widget" for i in models), "comm_info target names")
        msg_id = kc.comm_info(target_name="jupyter.widget.control")
        check(shell_reply(kc, msg_id)["content"]["comms"] == {}, "comm_info filtered by target")

        # The front end moves the slider to layer 2.
        before = models[picture]["value"]
        t0 = time.time()
        msg_id = comm_send(kc, "comm_msg", {"comm_id": slider,
                                            "data": {"method": "update", "state": {"value": 2}, "buffer_paths": []}})
        got_status = got_picture = None
        deadline = t0 + 1.0
        msgs = []
        while time.time() < deadline and not (got_status and got_picture):
            try:
                m = kc.get_iopub_msg(timeout=max(0.01, deadline - time.time()))
            except Exception:
                break
            msgs.append(m)
            for d in updates_for([m], status):
                if "layer 2" in d["state"].get("value", ""):
                    got_status = time.time() - t0
            for d in updates_for([m], picture):
                if d["state"].get("value", before) != before:
                    got_picture = time.time() - t0
        check(got_status is not None, "the kernel sent the view of layer 2 within a second",
              "%.3f s" % (got_status or -1))
        check(got_picture is not None, "the picture changed within a second")
        print("view of layer 2 after %.1f ms" % (1000 * got_status), flush=True)
        rest = until_idle(kc, msg_id)
        echoes = [d for d in updates_for(msgs + rest, slider) if d["method"] == "echo_update"]
        check(len(echoes) == 1 and echoes[0]["state"]["value"] == 2, "echo_update of the slider", echoes)

        # Out of range from a modified front end: clamped to the last layer.
        msg_id = comm_send(kc, "comm_msg", {"comm_id": slider,
                                            "data": {"method": "update", "state": {"value": 99}, "buffer_paths": []}})
        msgs = until_idle(kc, msg_id)
        back = [d for d in updates_for(msgs, slider) if d["method"] == "update"]
        check(back and back[-1]["state"]["value"] == 4, "out-of-range layer clamped to 4", back)
        check(any("layer 4" in d["state"].get("value", "") for d in updates_for(msgs, status)), "view of layer 4")
        check(not [m for m in msgs if m["msg_type"] == "error"], "no error for an out-of-range value")

        # The control comm returns every state at once.
        ctl = "control-comm-from-the-test"
        until_idle(kc, comm_send(kc, "comm_open", {"comm_id": ctl, "target_name": "jupyter.widget.control", "data": {}}))
        msgs = until_idle(kc, comm_send(kc, "comm_msg", {"comm_id": ctl, "data": {"method": "request_states"}}))
        states = [d for d in updates_for(msgs, ctl) if d["method"] == "update_states"]
        check(states and set(models) <= set(states[0]["states"]), "request_states returns every widget")
        check(states[0]["states"][slider]["value"] == 4, "the slider's state is the clamped value")

        # A cell still runs.
        reply, _ = execute(kc, "%topk -k 3")
        check(reply["content"]["status"] == "ok", "a cell after the widget traffic")

        step_ui(kc)
        generate_ui(kc)
        kc.stop_channels()
    finally:
        if km.is_alive():
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main(sys.argv[1])
