/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Types shared between the XDP programs in bpf/ and the Rust side
 * (crates/afxdp-core/src/bpf/). Rust mirrors every struct here with
 * #[repr(C)] and asserts its size, so a change on one side that is not made
 * on the other fails the build instead of corrupting map values.
 * Keep every struct free of implicit padding (explicit pad fields only).
 */
#ifndef AFXDP_H
#define AFXDP_H

#include <linux/types.h>

/* Entries of the XSKMAP: one AF_XDP socket per RX queue. */
#define AFXDP_MAX_QUEUES 256

/*
 * Global counters of the steering program, one value per CPU in a
 * PERCPU_ARRAY with a single entry (key 0); user space sums over CPUs.
 * Every packet lands in exactly one of steered/passed/dropped, so
 * steered + passed + dropped is the number of packets the program saw.
 * The other fields say why, for the cases worth telling apart.
 */
struct afxdp_counters {
	__u64 steered_packets;	/* redirected into an AF_XDP socket */
	__u64 steered_bytes;
	__u64 passed_packets;	/* handed to the kernel stack (XDP_PASS) */
	__u64 passed_bytes;
	__u64 dropped_packets;	/* dropped in XDP */
	__u64 dropped_bytes;
	__u64 no_socket;	/* steer chosen, but no socket on the queue: passed */
	__u64 blocked;		/* dropped by the kernel drop list */
	__u64 offload_hits;	/* verdict taken from the flow offload table */
	__u64 malformed;	/* headers truncated or unparseable */
	__u64 reserved[6];	/* room to grow without changing the size */
};
#define AFXDP_COUNTERS_SIZE 128

/*
 * Configuration of the live-frame traffic generator (trafficgen.bpf.c), the
 * single entry of an ARRAY map, written by user space before each run.
 */
struct afxdp_tg_config {
	__u32 ifindex_out;	/* redirect every frame out of this interface */
	__u16 udp_offset;	/* offset of the UDP header in the frame */
	__u16 port_count;	/* 0: send as is; N: vary UDP source port over N values */
	__u16 port_base;	/* first source port of the range */
	__u8 ipv6;		/* UDP checksum is mandatory (never leave it 0) */
	__u8 pad[5];
};
#define AFXDP_TG_CONFIG_SIZE 16

#ifdef __bpf__
_Static_assert(sizeof(struct afxdp_counters) == AFXDP_COUNTERS_SIZE,
	       "struct afxdp_counters changed: update the Rust mirror");
_Static_assert(sizeof(struct afxdp_tg_config) == AFXDP_TG_CONFIG_SIZE,
	       "struct afxdp_tg_config changed: update the Rust mirror");
#endif

#endif /* AFXDP_H */
