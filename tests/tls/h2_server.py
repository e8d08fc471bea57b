#!/usr/bin/python3
"""A scriptable HTTP/2-only TLS ingest server for the tests (Debian's python3-h2).

Answers each POST with the next status of --script (then 200), for example
"429:1,200,402": a 429 with Retry-After 1, a 200, a 402 plan-limit answer. Logs one line per
request to --log ("<status> <externalRequestId>"), writes its port to --port-file once it
listens, and serves until killed. ALPN offers only h2, so an HTTP/1.1 client cannot talk to it.
"""
import argparse
import json
import os
import socket
import ssl
import threading

import h2.config
import h2.connection
import h2.events

parser = argparse.ArgumentParser()
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--port-file", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--script", default="")
args = parser.parse_args()

script = [s for s in args.script.split(",") if s]
lock = threading.Lock()
log = open(args.log, "a", buffering=1)


def next_answer():
    with lock:
        step = script.pop(0) if script else "200"
    status, _, retry_after = step.partition(":")
    status = int(status)
    headers = [("content-type", "application/json")]
    if status == 429:
        if retry_after:
            headers.append(("retry-after", retry_after))
        body = {"ok": False, "reason": "rate_limited"}
    elif status == 402:
        body = {"ok": False, "reason": "plan_limit_reached", "telemetryPaused": True,
                "providerCallsContinue": True, "isPlanLimitReached": True}
    elif 200 <= status < 300:
        body = {"ok": True, "planTier": "Free", "warnings": []}
    else:
        body = {"ok": False, "reason": "scripted"}
    return status, headers, json.dumps(body).encode()


def serve(sock):
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    bodies = {}
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    bodies[event.stream_id] = b""
                elif isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    body = bodies.pop(event.stream_id, b"")
                    try:
                        request_id = json.loads(body).get("externalRequestId", "")
                    except ValueError:
                        request_id = ""
                    status, headers, answer = next_answer()
                    log.write(f"{status} {request_id}\n")
                    conn.send_headers(event.stream_id, [(":status", str(status))] + headers +
                                      [("content-length", str(len(answer)))])
                    conn.send_data(event.stream_id, answer, end_stream=True)
            sock.sendall(conn.data_to_send())
    except (OSError, h2.exceptions.ProtocolError):
        return
    finally:
        sock.close()


context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(args.cert, args.key)
context.set_alpn_protocols(["h2"])
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(listener.getsockname()[1]))

os.rename(args.port_file + ".tmp", args.port_file)
while True:
    raw, _ = listener.accept()
    try:
        tls = context.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()
        continue
    if tls.selected_alpn_protocol() != "h2":
        log.write("refused non-h2 client\n")
        tls.close()
        continue
    threading.Thread(target=serve, args=(tls,), daemon=True).start()
