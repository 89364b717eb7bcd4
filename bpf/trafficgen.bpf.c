// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Live-frame traffic generator. User space runs this program with
 * BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES: the kernel builds a frame from
 * the test input for each repetition and acts on the verdict for real, so
 * XDP_REDIRECT transmits the frame out of ifindex_out. Out of a veth the
 * frames arrive at its peer (which must carry an XDP program).
 *
 * Optionally the UDP source port is rewritten per frame from a counter, so
 * receive-side RSS spreads the frames over several queues.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "afxdp.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct afxdp_tg_config);
} afxdp_tg_config SEC(".maps");

/* Sequence number of the next frame; per CPU, so no atomics. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} afxdp_tg_seq SEC(".maps");

/* RFC 1624 incremental update of a one's complement checksum: HC' = ~(~HC + ~m + m'). */
static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

static __always_inline void vary_src_port(struct xdp_md *ctx, const struct afxdp_tg_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	/* Masked so the verifier sees a bounded offset. */
	__u32 off = cfg->udp_offset & 0x1ff;
	__u16 *udp = data + off;
	__u32 zero = 0;
	__u64 *seq;
	__u16 old, new, check;

	if ((void *)(udp + 4) > data_end)
		return;
	seq = bpf_map_lookup_elem(&afxdp_tg_seq, &zero);
	if (!seq)
		return;
	new = bpf_htons(cfg->port_base + (__u16)(*seq % cfg->port_count));
	*seq += 1;
	/* Frames are recycled with our last edit in place: update from it. */
	old = udp[0];
	udp[0] = new;
	check = udp[3];
	/* Over IPv4 a zero checksum means "none" and stays so. */
	if (check == 0 && !cfg->ipv6)
		return;
	check = csum_replace2(check, old, new);
	/* Computed zero is sent as all ones (zero would mean none). */
	udp[3] = check ? check : 0xffff;
}

SEC("xdp")
int afxdp_tgen(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct afxdp_tg_config *cfg = bpf_map_lookup_elem(&afxdp_tg_config, &zero);

	if (!cfg)
		return XDP_ABORTED;
	if (cfg->port_count)
		vary_src_port(ctx, cfg);
	return bpf_redirect(cfg->ifindex_out, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
