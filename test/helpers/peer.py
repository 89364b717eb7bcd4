#!/usr/bin/env python3
"""The far end of a test: sends frames out of an interface and captures what
comes back, with raw AF_PACKET sockets (no scapy needed).

Run inside the peer namespace:
  ip netns exec NS python3 peer.py --iface afx1 [--send frames.bin] [--capture out.bin]
      [--expect N] [--idle-ms 500] [--timeout-s 20] [--burst 32] [--gap-us 300]

Frame files are a sequence of records: 4-byte little-endian length, then the
frame bytes. Prints "ready" on stderr once the capture socket is bound (at
once without --capture), before sending anything; at the end, one JSON line
on stdout: {"sent": N, "captured": M}.
"""
import argparse
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33


def read_frames(path):
    frames = []
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        (n,) = struct.unpack_from("<I", data, i)
        frames.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return frames


def write_frames(path, frames):
    with open(path, "wb") as f:
        for fr in frames:
            f.write(struct.pack("<I", len(fr)))
            f.write(fr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--send")
    ap.add_argument("--capture")
    ap.add_argument("--expect", type=int, default=-1)
    ap.add_argument("--idle-ms", type=int, default=500)
    ap.add_argument("--timeout-s", type=float, default=20.0)
    ap.add_argument("--burst", type=int, default=32)
    ap.add_argument("--gap-us", type=int, default=300)
    args = ap.parse_args()

    rx = None
    if args.capture:
        rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
        rx.bind((args.iface, 0))
        rx.setblocking(False)
    # From here on every frame arriving at the interface is captured.
    print("ready", file=sys.stderr, flush=True)

    captured = []

    def drain():
        while True:
            try:
                data, addr = rx.recvfrom(65535)
            except BlockingIOError:
                return
            if addr[2] != PACKET_OUTGOING:
                captured.append(data)

    sent = 0
    if args.send:
        tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        tx.bind((args.iface, 0))
        frames = read_frames(args.send)
        for i, fr in enumerate(frames):
            while True:
                try:
                    tx.send(fr)
                    break
                except (BlockingIOError, OSError):
                    time.sleep(0.001)  # qdisc full: back off and retry, never drop
            sent += 1
            if (i + 1) % args.burst == 0:
                if rx:
                    drain()
                time.sleep(args.gap_us / 1e6)

    if rx:
        deadline = time.monotonic() + args.timeout_s
        last = time.monotonic()
        while time.monotonic() < deadline:
            if args.expect >= 0 and len(captured) >= args.expect:
                # Linger briefly so extra (unexpected) frames are seen too.
                time.sleep(0.1)
                drain()
                break
            r, _, _ = select.select([rx], [], [], 0.05)
            before = len(captured)
            if r:
                drain()
            if len(captured) != before:
                last = time.monotonic()
            elif (time.monotonic() - last) * 1000 > args.idle_ms:
                break
        write_frames(args.capture, captured)

    print(json.dumps({"sent": sent, "captured": len(captured)}))


if __name__ == "__main__":
    main()
