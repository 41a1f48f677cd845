// Package kernel implements the Jupyter messaging protocol (version 5.3)
// over ZeroMQ (the pure-Go github.com/go-zeromq/zmq4), so that any
// Interpreter can be run as a Jupyter kernel: notebooks, JupyterLab,
// jupyter console, nbclient and papermill talk to it like to ipykernel.
//
// Serve reads a connection file, binds the five channels (shell and control
// ROUTER, iopub PUB, stdin ROUTER, heartbeat REP) on exactly the transport
// and addresses it names, and answers requests until a shutdown_request or
// until its context is cancelled. Install writes a kernelspec so that
// Jupyter can find and start the kernel.
//
// # Behaviour
//
//   - Every message is verified (HMAC over header, parent_header, metadata
//     and content with the connection's signature_scheme, compared in
//     constant time); a message with a bad or missing signature, bad JSON or
//     bad framing is logged (never with the key) and dropped. An empty key
//     disables signing, with a warning. A validly signed message whose
//     signature was seen among the last 16384 (a replay) is dropped too;
//     a fresh message with another client's session id is served, since
//     every holder of the key is equally trusted.
//   - iopub queues at most IOPubHighWaterMark messages and drops beyond
//     (as libzmq's PUB does), and a write that a peer has not read for 10 s
//     drops that peer, so a slow or stuck subscriber can neither grow the
//     kernel's memory without bound nor stall iopub for the others.
//   - Every request gets its reply on the socket it came in on, framed by
//     status busy/idle on iopub whose parent is the request.
//   - Cells run one at a time, in order, on one goroutine. The control
//     channel has its own goroutine, so interrupt_request and
//     shutdown_request get through while a cell runs. interrupt_request is
//     also accepted on shell, and with Options.HandleSignals SIGINT
//     interrupts too (SIGTERM shuts down). An interrupt cancels the
//     running cell's context, whose cause is ErrInterrupted.
//   - After a cell fails with stop_on_error (the default), the
//     execute_requests already queued are answered with status "aborted".
//   - Stream text is coalesced and published at most every 50 ms (and
//     before any other output, and at the end of the cell), which keeps a
//     token-by-token generator far below the iopub rate limit of notebook
//     servers.
//   - Unknown message types are logged. If their name ends in "_request",
//     they are answered with the matching "_reply" with status "error" and
//     ename "UnknownMessageType", so that a client waiting for an answer
//     does not hang; other unknown messages get no reply.
//   - Comms (comm_open, comm_msg, comm_close) work both ways with binary
//     buffers: an Interpreter that implements CommUser registers targets
//     and opens comms through *Comms. A comm_open for a target nobody
//     registered is answered with comm_close; a comm_msg or comm_close for
//     a comm that is not open is logged and dropped. Comm messages from
//     the front end are handled on the executor, in order with the cells,
//     framed by busy/idle, interruptible; a failing or panicking handler
//     becomes an "error" message parented to the comm message. A comm
//     can mark messages that interrupt what runs as they arrive (a Stop
//     button), and a handler can see how many messages for its comm are
//     queued behind it (to coalesce a flood). Package kernel/widget builds
//     the Jupyter widgets protocol on these comms.
//     comm_info_request (shell or control) lists the open comms, filtered
//     by target_name when one is given.
//   - history_request (tail, range, search with a glob pattern) is answered
//     from the inputs of this kernel process, kept in memory (session 1).
//   - Panics in the Interpreter are recovered and reported as errors; the
//     kernel does not exit on bad input.
package kernel
