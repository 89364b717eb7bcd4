// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * afxdp steering program. For each packet, in this order:
 *   1. the kernel drop list (source prefixes, with TTL): drop;
 *   2. the flow offload table (5-tuple, with TTL): pass or drop as a handler
 *      decided earlier;
 *   3. the rules (first match wins, else the default action): steer to the
 *      AF_XDP socket of the packet's RX queue, pass to the kernel, or drop.
 * Steering falls back to pass when no socket is bound on the queue.
 * Frames whose headers are truncated or malformed skip 2 and 3 and go to the
 * kernel, so nothing is ever steered on the strength of garbage.
 * Field meanings follow libpcap where the expression language borrows its
 * words (docs/cli.md lists where --steer differs from tcpdump, and why).
 *
 * User space (crates/afxdp-core/src/bpf/) owns the maps and recognises this
 * program on an interface by its name, afxdp_steer.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "afxdp.h"
#include "pass.h"

/* How many IPv6 extension headers we walk before calling the packet malformed. */
#define MAX_EXT_HEADERS 8

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, AFXDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct afxdp_counters);
} afxdp_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct afxdp_config);
} afxdp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct afxdp_ruleset);
} afxdp_rulesets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * AFXDP_RULE_SLOTS);
	__type(key, __u32);
	__type(value, struct afxdp_rule_stats);
} afxdp_rule_stats SEC(".maps");

/* Written by user space through mmap: 65,536-entry port tables. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * AFXDP_FIELD_TABLE);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} afxdp_field_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct afxdp_ethertype_key);
	__type(value, __u64);
} afxdp_ethertypes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct afxdp_set_key4);
	__type(value, __u64);
} afxdp_sets4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct afxdp_set_key6);
	__type(value, __u64);
} afxdp_sets6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct afxdp_drop_key4);
	__type(value, struct afxdp_drop_value);
} afxdp_drop4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct afxdp_drop_key6);
	__type(value, struct afxdp_drop_value);
} afxdp_drop6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct afxdp_flow_key);
	__type(value, struct afxdp_flow_value);
} afxdp_flows SEC(".maps");

/* What the parser learned about a packet. Ports are in host byte order. */
struct facts {
	__u16 ethertype;
	__u16 vlan;		/* outer VLAN id */
	__u8 tagged;
	__u8 ipver;		/* 0: not IP */
	__u8 proto;		/* L4 protocol, valid when ipver != 0 */
	__u8 has_ports;		/* TCP/UDP/SCTP/UDP-Lite header present (first fragment) */
	__u8 malformed;
	__u8 arp;		/* ARP/RARP: src/dst hold its IPv4 sender/target addresses */
	__u16 sport;
	__u16 dport;
	__u8 src[16];		/* IPv4: first 4 bytes */
	__u8 dst[16];
};

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct ipv4_hdr {
	__u8 ver_ihl;
	__u8 tos;
	__be16 tot_len;
	__be16 id;
	__be16 frag_off;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__u8 saddr[4];
	__u8 daddr[4];
};

struct ipv6_hdr {
	__be32 vtc_flow;
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

static __always_inline int l4_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

/* Reads the ports at l4 if the header is there; a short one is malformed. */
static __always_inline void parse_ports(struct facts *f, void *l4, void *end)
{
	__be16 *ports = l4;

	if (!l4_has_ports(f->proto))
		return;
	if ((void *)(ports + 2) > end) {
		f->malformed = 1;
		return;
	}
	f->sport = bpf_ntohs(ports[0]);
	f->dport = bpf_ntohs(ports[1]);
	f->has_ports = 1;
}

static __always_inline int is_ext_header(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING || next == IPPROTO_FRAGMENT ||
	       next == IPPROTO_DSTOPTS || next == IPPROTO_AH || next == 135 /* mobility */;
}

static __always_inline void parse_ipv6(struct facts *f, void *data, void *end, __u32 off)
{
	struct ipv6_hdr *ip6 = data + off;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > end) {
		f->malformed = 1;
		return;
	}
	f->ipver = 6;
	__builtin_memcpy(f->src, ip6->saddr, 16);
	__builtin_memcpy(f->dst, ip6->daddr, 16);
	next = ip6->nexthdr;
	off += sizeof(*ip6);
	for (i = 0; i < MAX_EXT_HEADERS; i++) {
		__u8 *ext;
		__u32 len;

		if (!is_ext_header(next))
			break;
		/* Real chains are short; a bound also lets the verifier check offsets. */
		if (off > 0x7ff) {
			f->malformed = 1;
			return;
		}
		ext = data + off;
		if ((void *)(ext + 8) > end) {
			f->malformed = 1;
			return;
		}
		if (next == IPPROTO_FRAGMENT) {
			/* Offset in 8-byte units in the top 13 bits of bytes 2-3. */
			__u16 frag = ((__u16)ext[2] << 8 | ext[3]) & 0xfff8;

			next = ext[0];
			if (frag) {
				/* Not the first fragment: no L4 header here. */
				f->proto = next;
				return;
			}
			off += 8;
			continue;
		}
		len = next == IPPROTO_AH ? ((__u32)ext[1] + 2) * 4 : ((__u32)ext[1] + 1) * 8;
		next = ext[0];
		off += len;
	}
	/* Too many extension headers to know what follows. */
	if (is_ext_header(next) || off > 0x7ff) {
		f->malformed = 1;
		return;
	}
	f->proto = next;
	parse_ports(f, data + off, end);
}

/*
 * ARP and RARP carry IPv4 addresses that libpcap's `host`/`net` match (at
 * offsets 14 and 24 of the ARP header, whatever its hardware type says).
 */
static __always_inline void parse_arp(struct facts *f, __u8 *arp, void *end)
{
	if ((void *)(arp + 28) > end) {
		f->malformed = 1;
		return;
	}
	f->arp = 1;
	__builtin_memcpy(f->src, arp + 14, 4);
	__builtin_memcpy(f->dst, arp + 24, 4);
}

static __always_inline int is_vlan_tpid(__u16 ethertype)
{
	/* 802.1Q, 802.1ad, and the pre-standard QinQ 0x9100 libpcap knows too. */
	return ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD || ethertype == 0x9100;
}

static __always_inline void parse(struct facts *f, void *data, void *end)
{
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	int i;

	if ((void *)(eth + 1) > end) {
		f->malformed = 1;
		return;
	}
	f->ethertype = bpf_ntohs(eth->h_proto);
	/* Up to two tags (802.1Q, 802.1ad); the outer one's id is matched. */
	for (i = 0; i < 2; i++) {
		struct vlan_hdr *vh;

		if (!is_vlan_tpid(f->ethertype))
			break;
		vh = data + off;
		if ((void *)(vh + 1) > end) {
			f->malformed = 1;
			return;
		}
		if (!f->tagged) {
			f->tagged = 1;
			f->vlan = bpf_ntohs(vh->tci) & 0x0fff;
		}
		f->ethertype = bpf_ntohs(vh->proto);
		off += sizeof(*vh);
	}
	if (f->ethertype == ETH_P_IP) {
		struct ipv4_hdr *ip = data + off;
		__u32 ihl;

		if ((void *)(ip + 1) > end) {
			f->malformed = 1;
			return;
		}
		ihl = (ip->ver_ihl & 0x0f) * 4;
		if ((ip->ver_ihl >> 4) != 4 || ihl < sizeof(*ip)) {
			f->malformed = 1;
			return;
		}
		f->ipver = 4;
		f->proto = ip->protocol;
		__builtin_memcpy(f->src, ip->saddr, 4);
		__builtin_memcpy(f->dst, ip->daddr, 4);
		/* Only the first fragment (offset 0) carries the L4 header. */
		if (bpf_ntohs(ip->frag_off) & 0x1fff)
			return;
		parse_ports(f, (void *)ip + ihl, end);
	} else if (f->ethertype == ETH_P_IPV6) {
		parse_ipv6(f, data, end, off);
	} else if (f->ethertype == ETH_P_ARP || f->ethertype == ETH_P_RARP) {
		/* The bound lets the verifier check the offsets. */
		if (off > 22)
			return;
		parse_arp(f, data + off, end);
	}
}

/* 1. The drop list: a source prefix that is blocked and not expired. */
static __always_inline int drop_listed(struct facts *f, __u64 len)
{
	struct afxdp_drop_value *v;

	if (f->ipver == 4) {
		struct afxdp_drop_key4 k = { .prefixlen = 32 };

		__builtin_memcpy(k.addr, f->src, 4);
		v = bpf_map_lookup_elem(&afxdp_drop4, &k);
	} else if (f->ipver == 6) {
		struct afxdp_drop_key6 k = { .prefixlen = 128 };

		__builtin_memcpy(k.addr, f->src, 16);
		v = bpf_map_lookup_elem(&afxdp_drop6, &k);
	} else {
		return 0;
	}
	if (!v)
		return 0;
	/* Expired entries are ignored here and swept by user space. */
	if (v->expires_ns && v->expires_ns <= bpf_ktime_get_ns())
		return 0;
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	return 1;
}

/* 2. The flow offload table. Returns the action, or -1 when no entry applies. */
static __always_inline int offloaded(struct facts *f, __u64 len)
{
	struct afxdp_flow_key k = {};
	struct afxdp_flow_value *v;

	if (!f->ipver)
		return -1;
	k.ipver = f->ipver;
	k.proto = f->proto;
	if (f->has_ports) {
		k.sport = bpf_htons(f->sport);
		k.dport = bpf_htons(f->dport);
	} else if (l4_has_ports(f->proto)) {
		/* A non-first fragment of a port protocol: its flow is unknown. */
		return -1;
	}
	__builtin_memcpy(k.src, f->src, 16);
	__builtin_memcpy(k.dst, f->dst, 16);
	v = bpf_map_lookup_elem(&afxdp_flows, &k);
	if (!v)
		return -1;
	if (v->expires_ns && v->expires_ns <= bpf_ktime_get_ns()) {
		bpf_map_delete_elem(&afxdp_flows, &k);
		return -1;
	}
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	return v->action == AFXDP_ACT_DROP ? AFXDP_ACT_DROP : AFXDP_ACT_PASS;
}

/*
 * Terms accepting the address (`miss` when no prefix covers it). `which` is
 * table * 2 + 0 for the source, + 1 for the destination.
 */
static __always_inline __u64 addr_bits(struct facts *f, __u32 which, const __u8 *addr, __u64 miss)
{
	__u64 *bits;

	if (f->ipver == 4 || f->arp) {
		struct afxdp_set_key4 k = { .prefixlen = 64, .table = which };

		__builtin_memcpy(k.addr, addr, 4);
		bits = bpf_map_lookup_elem(&afxdp_sets4, &k);
	} else if (f->ipver == 6) {
		struct afxdp_set_key6 k = { .prefixlen = 160, .table = which };

		__builtin_memcpy(k.addr, addr, 16);
		bits = bpf_map_lookup_elem(&afxdp_sets6, &k);
	} else {
		return miss;
	}
	return bits ? *bits : miss;
}

/* One per-value bitmap from afxdp_field_bits (an inlined array access). */
static __always_inline __u64 field_bits(__u32 index)
{
	__u64 *bits = bpf_map_lookup_elem(&afxdp_field_bits, &index);

	return bits ? *bits : 0;
}

/* Index of the lowest set bit of a non-zero value. */
static __always_inline __u32 lowest_bit(__u64 v)
{
	__u32 i = 0;

	v &= -v;
	if (!(v & 0xffffffffULL)) { i += 32; v >>= 32; }
	if (!(v & 0xffff)) { i += 16; v >>= 16; }
	if (!(v & 0xff)) { i += 8; v >>= 8; }
	if (!(v & 0xf)) { i += 4; v >>= 4; }
	if (!(v & 0x3)) { i += 2; v >>= 2; }
	if (!(v & 0x1)) i += 1;
	return i;
}

/*
 * 3. The rules of table `table`. Returns the action and sets *slot to the
 * rule-counter slot that decided (the table's last slot for the default).
 */
static __always_inline int eval_rules(struct facts *f, __u32 table, __u32 *slot)
{
	struct afxdp_ruleset *rs = bpf_map_lookup_elem(&afxdp_rulesets, &table);
	__u32 base = table * AFXDP_FIELD_TABLE, needs, term, rule;
	__u64 bits;
	int ports;

	*slot = table * AFXDP_RULE_SLOTS + AFXDP_MAX_RULES;
	if (!rs)
		return AFXDP_ACT_PASS;
	bits = rs->terms;
	needs = rs->needs;
	if (needs & AFXDP_F_ETHERTYPE) {
		struct afxdp_ethertype_key k = { .table = table, .ethertype = f->ethertype };
		__u64 *e = bpf_map_lookup_elem(&afxdp_ethertypes, &k);

		bits &= e ? *e : rs->ethertype_other;
	}
	if (needs & AFXDP_F_VLAN)
		bits &= f->tagged ? field_bits(base + AFXDP_FB_VLAN + (f->vlan & 0xfff)) : rs->vlan_none;
	if (needs & AFXDP_F_IPVER)
		bits &= rs->ipver[f->ipver == 4 ? 1 : f->ipver == 6 ? 2 : 0];
	if (needs & AFXDP_F_PROTO)
		bits &= f->ipver ? field_bits(base + AFXDP_FB_PROTO + f->proto) : rs->proto_none;
	/* Ports mean TCP, UDP and SCTP ports, as in libpcap (not UDP-Lite's). */
	ports = f->has_ports && f->proto != IPPROTO_UDPLITE;
	if (needs & AFXDP_F_SPORT)
		bits &= ports ? field_bits(base + AFXDP_FB_SPORT + f->sport) : rs->sport_none;
	if (needs & AFXDP_F_DPORT)
		bits &= ports ? field_bits(base + AFXDP_FB_DPORT + f->dport) : rs->dport_none;
	/* The tries last: they cost most, and often nothing is left to match. */
	if (bits && (needs & AFXDP_F_SRC))
		bits &= addr_bits(f, table * 2, f->src, rs->src_miss);
	if (bits && (needs & AFXDP_F_DST))
		bits &= addr_bits(f, table * 2 + 1, f->dst, rs->dst_miss);
	if (!bits)
		return rs->default_action;
	term = lowest_bit(bits) & (AFXDP_MAX_TERMS - 1);
	rule = rs->rule_of_term[term];
	*slot = table * AFXDP_RULE_SLOTS + (rule < AFXDP_MAX_RULES ? rule : AFXDP_MAX_RULES);
	return rs->action_of_term[term];
}

static __always_inline void count_rule(__u32 slot, __u64 len)
{
	struct afxdp_rule_stats *s = bpf_map_lookup_elem(&afxdp_rule_stats, &slot);

	if (s) {
		s->packets++;
		s->bytes += len;
	}
}

static __always_inline int steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 len = end - data;
	struct facts f = {};
	__u32 zero = 0, flags = 0, gen, slot;
	struct afxdp_config *cfg;
	struct afxdp_counters *c;
	int action;
	long ret;

	c = bpf_map_lookup_elem(&afxdp_counters, &zero);
	if (!c)
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&afxdp_config, &zero);
	if (cfg)
		flags = cfg->flags;

	parse(&f, data, end);

	if ((flags & AFXDP_CFG_DROPLIST) && f.ipver && drop_listed(&f, len)) {
		c->blocked++;
		goto drop;
	}
	if (f.malformed) {
		c->malformed++;
		goto pass;
	}
	if (flags & AFXDP_CFG_OFFLOAD) {
		action = offloaded(&f, len);
		if (action >= 0) {
			c->offload_hits++;
			if (action == AFXDP_ACT_DROP)
				goto drop;
			goto pass;
		}
	}

	/*
	 * Double-buffered rule tables: gen's low bit names the table in force.
	 * One read is enough, with no retry and no barrier, because user space
	 * (Control::set_rules in crates/afxdp-core/src/bpf/control.rs) waits
	 * for an RCU grace period before it rewrites the table we may be
	 * reading (so no run of this program still reads it), and another
	 * before it switches gen (so every run that sees the new gen also sees
	 * the whole new table). A frame is classified by exactly one rule set.
	 */
	gen = cfg ? *(volatile __u32 *)&cfg->gen : 0;
	action = eval_rules(&f, gen & 1, &slot);
	count_rule(slot, len);

	if (action == AFXDP_ACT_DROP)
		goto drop;
	if (action != AFXDP_ACT_STEER)
		goto pass;
	/*
	 * The flags argument is the action taken when the queue has no socket
	 * in the map: the packet then goes to the kernel as if we were absent.
	 */
	ret = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
	if (ret == XDP_REDIRECT) {
		c->steered_packets++;
		c->steered_bytes += len;
		return XDP_REDIRECT;
	}
	c->no_socket++;
pass:
	/* Per-CPU values: no atomics needed, only this CPU writes them. */
	c->passed_packets++;
	c->passed_bytes += len;
	return XDP_PASS;
drop:
	c->dropped_packets++;
	c->dropped_bytes += len;
	return XDP_DROP;
}

SEC("xdp")
int afxdp_steer(struct xdp_md *ctx)
{
	/* Verdict.Pass (pass.h): before anything reads packet pointers, as it may move data_meta. */
	int pass = afxdp_pass_hook(ctx);

	if (pass >= 0)
		return pass;
	return steer(ctx);
}

/* The same program with the frags flag (BPF_F_XDP_HAS_FRAGS), loaded only
 * for multi-buffer (jumbo) sockets instead of afxdp_steer: a program
 * without it never sees a frame larger than one buffer (veth refuses to
 * attach it with a peer MTU above a page), and the plain one keeps the fast
 * path as it was. Only the first buffer is parsed (ctx->data..data_end). */
SEC("xdp.frags")
int afxdp_steer_mb(struct xdp_md *ctx)
{
	int pass = afxdp_pass_hook(ctx);

	if (pass >= 0)
		return pass;
	return steer(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
