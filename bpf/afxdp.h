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
 * Rules are a little postfix program per rule, evaluated over facts parsed
 * from the packet, with a stack of booleans kept as bits of a u64. A rule's
 * instructions end with AFXDP_OP_END, which applies the rule's action if the
 * top of the stack is true; the first rule that matches wins, otherwise the
 * rule set's default action applies. User space validates stack depth.
 */
#define AFXDP_OP_TRUE		0	/* push true */
#define AFXDP_OP_ETHERTYPE	1	/* push ethertype (after VLAN tags) == lo */
#define AFXDP_OP_VLAN		2	/* push: tagged and lo <= outer VLAN id <= hi */
#define AFXDP_OP_IPVER		3	/* push: IP version == arg */
#define AFXDP_OP_PROTO		4	/* push: IP and L4 protocol (after IPv6 ext headers) == arg */
#define AFXDP_OP_SRC_SET	5	/* push: source address in prefix set arg */
#define AFXDP_OP_DST_SET	6	/* push: destination address in prefix set arg */
#define AFXDP_OP_SPORT		7	/* push: has ports and lo <= source port <= hi */
#define AFXDP_OP_DPORT		8	/* push: has ports and lo <= destination port <= hi */
#define AFXDP_OP_NOT		9	/* top = !top */
#define AFXDP_OP_AND		10	/* pop a, b; push a && b */
#define AFXDP_OP_OR		11	/* pop a, b; push a || b */
#define AFXDP_OP_END		12	/* pop; if true: action arg, rule number lo */

struct afxdp_insn {
	__u8 op;
	__u8 arg;
	__u16 lo;
	__u16 hi;
	__u16 pad;
};
#define AFXDP_INSN_SIZE 8

#define AFXDP_MAX_INSNS		512
#define AFXDP_MAX_RULES		128
#define AFXDP_MAX_SETS		64

/* Which prefix-set lookups the rules need (skip the others). */
#define AFXDP_NEED_SRC_SET	1
#define AFXDP_NEED_DST_SET	2

/*
 * One of two rule tables (double buffering): user space writes the inactive
 * table, then bumps afxdp_config.gen, whose low bit selects the active one.
 */
struct afxdp_ruleset {
	__u8 default_action;
	__u8 needs;		/* AFXDP_NEED_* */
	__u16 ninsns;
	__u16 nrules;
	__u16 pad;
	struct afxdp_insn insns[AFXDP_MAX_INSNS];
};
#define AFXDP_RULESET_SIZE (8 + AFXDP_MAX_INSNS * AFXDP_INSN_SIZE)

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
 * Prefix sets for rules: LPM tries whose keys start with the rule table, so
 * both tables live in one trie. The value is the bitmap of the sets whose
 * prefixes cover the key (user space folds shorter covering prefixes in,
 * because the trie only returns the longest match).
 */
struct afxdp_set_key4 {
	__u32 prefixlen;	/* 32 (table) + prefix length */
	__u32 table;
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

#ifdef __bpf__
_Static_assert(sizeof(struct afxdp_counters) == AFXDP_COUNTERS_SIZE,
	       "struct afxdp_counters changed: update the Rust mirror");
_Static_assert(sizeof(struct afxdp_tg_config) == AFXDP_TG_CONFIG_SIZE,
	       "struct afxdp_tg_config changed: update the Rust mirror");
_Static_assert(sizeof(struct afxdp_insn) == AFXDP_INSN_SIZE, "struct afxdp_insn changed");
_Static_assert(sizeof(struct afxdp_ruleset) == AFXDP_RULESET_SIZE, "struct afxdp_ruleset changed");
_Static_assert(sizeof(struct afxdp_flow_key) == 40, "struct afxdp_flow_key changed");
_Static_assert(sizeof(struct afxdp_flow_value) == 32, "struct afxdp_flow_value changed");
_Static_assert(sizeof(struct afxdp_set_key6) == 24, "struct afxdp_set_key6 changed");
#endif

#endif /* AFXDP_H */
