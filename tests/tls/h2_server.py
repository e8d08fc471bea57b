#!/usr/bin/python3
"""A scriptable HTTP/2-only TLS ingest server for the tests (Debian's python3-h2).

Answers each POST with the next status of --script (then 200), for example
"429:1,200,402": a 429 with Retry-After 1, a 200, a 402 plan-limit answer. Logs one line per
request to --log as it arrives ("<status> <externalRequestId>"), writes its port to --port-file
once it listens, and serves until killed. ALPN offers only h2, so an HTTP/1.1 client cannot talk
to it. A slow tail: with --delay-ms D, a --delay-fraction share of the requests (all with 1.0,
drawn with --seed) is answered D ms after it arrived, each stream on its own while the others
are answered at once; --stats-file then holds the most streams seen open at once.
"""
import argparse
import json
import os
import random
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
parser.add_argument("--delay-ms", type=int, default=0)
parser.add_argument("--delay-fraction", type=float, default=1.0)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--stats-file", default="")
args = parser.parse_args()

script = [s for s in args.script.split(",") if s]
lock = threading.Lock()
log = open(args.log, "a", buffering=1)
draw = random.Random(args.seed)
open_streams = 0
most_open = 0


def stream_opened():
    global open_streams, most_open
    with lock:
        open_streams += 1
        if open_streams > most_open:
            most_open = open_streams
            if args.stats_file:
                with open(args.stats_file + ".tmp", "w") as f:
                    f.write(str(most_open))
                os.rename(args.stats_file + ".tmp", args.stats_file)


def stream_closed():
    global open_streams
    with lock:
        open_streams -= 1


def delayed():
    with lock:
        return args.delay_ms > 0 and draw.random() < args.delay_fraction


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
    send_lock = threading.Lock()  # the connection and the socket, shared with the timers
    bodies = {}

    def answer(stream_id, status, headers, body):
        with send_lock:
            try:
                conn.send_headers(stream_id, [(":status", str(status))] + headers +
                                  [("content-length", str(len(body)))])
                conn.send_data(stream_id, body, end_stream=True)
                sock.sendall(conn.data_to_send())
            except (OSError, h2.exceptions.ProtocolError, h2.exceptions.StreamClosedError):
                pass
        stream_closed()

    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            with send_lock:
                events = conn.receive_data(data)
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    bodies[event.stream_id] = b""
                    stream_opened()
                elif isinstance(event, h2.events.DataReceived):
                    bodies[event.stream_id] = bodies.get(event.stream_id, b"") + event.data
                    with send_lock:
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    body = bodies.pop(event.stream_id, b"")
                    try:
                        request_id = json.loads(body).get("externalRequestId", "")
                    except ValueError:
                        request_id = ""
                    status, headers, answer_body = next_answer()
                    log.write(f"{status} {request_id}\n")
                    if delayed():
                        threading.Timer(args.delay_ms / 1000.0, answer,
                                        (event.stream_id, status, headers, answer_body)).start()
                    else:
                        answer(event.stream_id, status, headers, answer_body)
            with send_lock:
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
