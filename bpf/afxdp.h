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

/* ---- Issue 5: rules, drop list, flow offload ---- */

/* What the program does with a packet. */
#define AFXDP_ACT_PASS	0	/* to the kernel stack */
#define AFXDP_ACT_STEER	1	/* to the AF_XDP socket of its queue (pass if none) */
#define AFXDP_ACT_DROP	2	/* dropped in XDP */

/*
 * Rules are classified with bit vectors, so the cost per packet does not
 * grow with the number of rules. User space turns each rule into one or
 * more "terms" (a disjunctive normal form); each term is a bit, and each
 * term is a conjunction of conditions on single fields. For every field and
 * every value it can take, user space precomputes the bitmap of the terms
 * that accept it. The program looks each field of the packet up, ANDs the
 * bitmaps, and the lowest bit left is the first matching term (terms are
 * numbered in rule order). Fields no term constrains are not looked up.
 * "None" stands for a field the packet lacks (not IP, untagged, no ports).
 */
#define AFXDP_MAX_TERMS		64
#define AFXDP_MAX_RULES		64

/* Fields (bits of afxdp_ruleset.needs). */
#define AFXDP_F_ETHERTYPE	(1 << 0)
#define AFXDP_F_VLAN		(1 << 1)
#define AFXDP_F_IPVER		(1 << 2)
#define AFXDP_F_PROTO		(1 << 3)
#define AFXDP_F_SRC		(1 << 4)
#define AFXDP_F_DST		(1 << 5)
#define AFXDP_F_SPORT		(1 << 6)
#define AFXDP_F_DPORT		(1 << 7)

/*
 * Per-value bitmaps of one table, in one mmapable ARRAY of u64
 * (afxdp_field_bits), at index table * AFXDP_FIELD_TABLE + offset + value.
 */
#define AFXDP_FB_SPORT		0
#define AFXDP_FB_DPORT		65536
#define AFXDP_FB_VLAN		131072
#define AFXDP_FB_PROTO		(131072 + 4096)
#define AFXDP_FIELD_TABLE	(131072 + 4096 + 256)

/*
 * One of two rule tables (double buffering): user space writes the inactive
 * table, then bumps afxdp_config.gen, whose low bit selects the active one.
 */
struct afxdp_ruleset {
	__u64 terms;		/* bits of the terms in use */
	__u64 ipver[3];		/* terms accepting: not IP, IPv4, IPv6 */
	__u64 vlan_none;	/* terms accepting an untagged frame */
	__u64 proto_none;	/* ... a non-IP frame's protocol */
	__u64 sport_none;	/* ... a frame without ports */
	__u64 dport_none;
	__u64 src_miss;		/* ... a source address in no prefix (or not IP) */
	__u64 dst_miss;
	__u64 ethertype_other;	/* ... an EtherType not in afxdp_ethertypes */
	__u32 needs;		/* AFXDP_F_*: the fields to look up */
	__u8 default_action;
	__u8 pad[3];
	__u8 rule_of_term[AFXDP_MAX_TERMS];
	__u8 action_of_term[AFXDP_MAX_TERMS];
};
#define AFXDP_RULESET_SIZE (8 * 11 + 8 + 2 * AFXDP_MAX_TERMS)

/* afxdp_ethertypes key: the table and an EtherType; value: terms bitmap. */
struct afxdp_ethertype_key {
	__u32 table;
	__u32 ethertype;
};

/* Per-rule counters: index table * AFXDP_RULE_SLOTS + rule; the last slot of a table is the default action. */
#define AFXDP_RULE_SLOTS (AFXDP_MAX_RULES + 1)
struct afxdp_rule_stats {
	__u64 packets;
	__u64 bytes;
};

#define AFXDP_CFG_DROPLIST	1	/* the drop list has entries */
#define AFXDP_CFG_OFFLOAD	2	/* the offload table may have entries */

struct afxdp_config {
	__u32 gen;	/* sequence number; gen & 1 is the active rule table */
	__u32 flags;	/* AFXDP_CFG_* */
};

/*
 * Source and destination prefixes of the rules: LPM tries whose keys start
 * with the rule table and direction, so all four live in one trie per family. The value is the
 * bitmap of the terms that accept an address whose longest match is this
 * prefix (user space evaluates each term's prefix conditions for it).
 */
struct afxdp_set_key4 {
	__u32 prefixlen;	/* 32 (table) + prefix length */
	__u32 table;		/* table * 2 + (0 source, 1 destination) */
	__u8 addr[4];
};
struct afxdp_set_key6 {
	__u32 prefixlen;
	__u32 table;
	__u8 addr[16];
};

/* Kernel drop list: source prefixes. */
struct afxdp_drop_key4 {
	__u32 prefixlen;
	__u8 addr[4];
};
struct afxdp_drop_key6 {
	__u32 prefixlen;
	__u8 addr[16];
};
struct afxdp_drop_value {
	__u64 expires_ns;	/* CLOCK_MONOTONIC; 0: never */
	__u64 packets;
	__u64 bytes;
};

/* Flow offload: 5-tuple to verdict. IPv4 addresses use the first 4 bytes. */
struct afxdp_flow_key {
	__u8 ipver;		/* 4 or 6 */
	__u8 proto;
	__u16 sport;		/* network byte order; 0 for protocols without ports */
	__u16 dport;
	__u16 pad;
	__u8 src[16];
	__u8 dst[16];
};
struct afxdp_flow_value {
	__u64 expires_ns;	/* CLOCK_MONOTONIC; 0: never */
	__u64 packets;
	__u64 bytes;
	__u8 action;		/* AFXDP_ACT_PASS or AFXDP_ACT_DROP */
	__u8 pad[7];
};

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


/* ---- Issue 12: Verdict.Pass (bpf/pass.h) ---- */

/* Ports of one interface that pass frames at the same time, and frames per injection. */
#define AFXDP_PASS_LANES	8
#define AFXDP_PASS_SLOTS	64
#define AFXDP_PASS_SLOT_SIZE	4096

/* One frame to inject, written by user space through mmap. */
struct afxdp_pass_slot {
	__u32 len;
	__u32 pad;
	__u8 data[AFXDP_PASS_SLOT_SIZE - 8];
};

/* Single entry of afxdp_pass_config (mmapable). */
struct afxdp_pass_config {
	__u64 cookie;			/* 0: pass unused; else marks our frames */
	__u32 generic;			/* the program runs in skb mode: check for the mark */
	__u32 pad;
	__u32 next[AFXDP_PASS_LANES];	/* next slot per lane; user space zeroes it per run */
	__u32 failed[AFXDP_PASS_LANES];	/* frames the program could not inject */
};
#define AFXDP_PASS_CONFIG_SIZE (16 + 8 * AFXDP_PASS_LANES)

/* Metadata in front of each injected frame; the cookie ends right at the MAC header. */
struct afxdp_pass_meta {
	__u32 lane;
	__u32 pad;
	__u64 cookie;
};

#ifdef __bpf__
_Static_assert(sizeof(struct afxdp_counters) == AFXDP_COUNTERS_SIZE,
	       "struct afxdp_counters changed: update the Rust mirror");
_Static_assert(sizeof(struct afxdp_tg_config) == AFXDP_TG_CONFIG_SIZE,
	       "struct afxdp_tg_config changed: update the Rust mirror");
_Static_assert(sizeof(struct afxdp_ruleset) == AFXDP_RULESET_SIZE, "struct afxdp_ruleset changed");
_Static_assert(sizeof(struct afxdp_flow_key) == 40, "struct afxdp_flow_key changed");
_Static_assert(sizeof(struct afxdp_flow_value) == 32, "struct afxdp_flow_value changed");
_Static_assert(sizeof(struct afxdp_set_key6) == 24, "struct afxdp_set_key6 changed");
_Static_assert(sizeof(struct afxdp_pass_config) == AFXDP_PASS_CONFIG_SIZE, "struct afxdp_pass_config changed");
_Static_assert(sizeof(struct afxdp_pass_slot) == AFXDP_PASS_SLOT_SIZE, "struct afxdp_pass_slot changed");
#endif

#endif /* AFXDP_H */
