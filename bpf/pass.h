/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Verdict.Pass: frames a handler hands back to the kernel stack, delivered
 * as if received on their ingress interface. Included by steer.bpf.c; the
 * steering program plays two extra parts, both recognised by a random
 * 64-bit cookie user space writes into afxdp_pass_config:
 *
 * 1. The injector. User space copies the passed frames of a batch into its
 *    lane of afxdp_pass_frames and runs this same program with
 *    BPF_PROG_RUN + BPF_F_TEST_XDP_LIVE_FRAMES, repeat = the frame count,
 *    ctx.ingress_ifindex = the interface, and a 16-byte metadata prefix
 *    (struct afxdp_pass_meta) in front of a dummy frame. Each run finds the
 *    prefix, takes the lane's next slot, resizes the frame to it, copies it
 *    in and returns XDP_PASS: the kernel builds skbs from the frames and
 *    delivers them with netif_receive_skb_list() on the interface (one
 *    syscall per batch). It is the steering program rather than a program
 *    of its own because BPF_PROG_RUN with repeat > 1 puts the program into
 *    the XDP dispatcher for the run (two synchronize_rcu(), ~25 ms here) —
 *    unless it is there already, as an attached program is.
 *
 * 2. The loop breaker. In skb (generic) mode XDP runs again on every skb in
 *    netif_receive_skb, injected ones included, and would steer them back
 *    into AF_XDP. The metadata travels with the frame into the skb
 *    (__xdp_build_skb_from_frame sets skb metadata from xdp_frame.metasize),
 *    so it sits right before the MAC header, where generic XDP exposes no
 *    metadata but bpf_xdp_adjust_meta(-8) can reveal it: the cookie there
 *    marks the skb as one we injected, and it passes. The mark is on the
 *    frame itself, so it holds whatever CPU the skb is processed on. In
 *    native mode injected skbs never meet XDP again and the check is skipped.
 */
#ifndef AFXDP_PASS_H
#define AFXDP_PASS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "afxdp.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct afxdp_pass_config);
} afxdp_pass_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AFXDP_PASS_LANES * AFXDP_PASS_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct afxdp_pass_slot);
} afxdp_pass_frames SEC(".maps");

/* Part 1: a live-frames run of ours. -1 when the frame carries no pass metadata. */
static __always_inline int afxdp_pass_fill(struct xdp_md *ctx, struct afxdp_pass_config *pc)
{
	struct afxdp_pass_meta *m = (void *)(long)ctx->data_meta;
	struct afxdp_pass_slot *slot;
	__u32 lane, idx, key, cur;
	__u64 len; /* 64-bit: checks on a zero-extended copy would not bound it for the verifier */

	if ((void *)(m + 1) > (void *)(long)ctx->data || m->cookie != pc->cookie)
		return -1;
	lane = m->lane;
	if (lane >= AFXDP_PASS_LANES)
		return XDP_DROP;
	/* One run at a time per lane (its port's thread), so no atomics. */
	idx = pc->next[lane];
	pc->next[lane] = idx + 1;
	if (idx >= AFXDP_PASS_SLOTS)
		goto fail;
	key = lane * AFXDP_PASS_SLOTS + idx;
	slot = bpf_map_lookup_elem(&afxdp_pass_frames, &key);
	if (!slot)
		goto fail;
	len = slot->len;
	if (len < 14 || len > sizeof(slot->data))
		goto fail;
	cur = bpf_xdp_get_buff_len(ctx);
	if (bpf_xdp_adjust_tail(ctx, (int)len - (int)cur))
		goto fail;
	/*
	 * Bounds again, as two tests the compiler may not merge (into
	 * len - 14 > ..., whose bounds the verifier cannot carry back to len).
	 */
	asm volatile("" : "+r"(len));
	if (len < 14)
		goto fail;
	asm volatile("" : "+r"(len));
	if (len > sizeof(slot->data))
		goto fail;
	if (bpf_xdp_store_bytes(ctx, 0, slot->data, len))
		goto fail;
	return XDP_PASS;
fail:
	pc->failed[lane & (AFXDP_PASS_LANES - 1)]++;
	return XDP_DROP;
}

/* Part 2: an skb we injected, seen again by generic XDP. */
static __always_inline int afxdp_pass_injected(struct xdp_md *ctx, __u64 cookie)
{
	__u64 *mark;
	int hit = 0;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u64)))
		return 0;
	mark = (void *)(long)ctx->data_meta;
	if ((void *)(mark + 1) <= (void *)(long)ctx->data)
		hit = *mark == cookie;
	bpf_xdp_adjust_meta(ctx, sizeof(__u64));
	return hit;
}

/* The XDP verdict for a frame of Verdict.Pass, or -1 for any other frame. */
static __always_inline int afxdp_pass_hook(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct afxdp_pass_config *pc = bpf_map_lookup_elem(&afxdp_pass_config, &zero);
	int verdict;

	if (!pc || !pc->cookie)
		return -1; /* Verdict.Pass never used on this interface */
	verdict = afxdp_pass_fill(ctx, pc);
	if (verdict >= 0)
		return verdict;
	if (pc->generic && afxdp_pass_injected(ctx, pc->cookie))
		return XDP_PASS;
	return -1;
}

#endif /* AFXDP_PASS_H */
