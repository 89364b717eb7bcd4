// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Measurement sink: counts and drops every frame. The baseline of the
 * benchmarks ("an unconditional XDP_DROP program") and the receiver of the
 * traffic generator's tests.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* 0: packets, 1: bytes */
	__type(key, __u32);
	__type(value, __u64);
} afxdp_sink_count SEC(".maps");

SEC("xdp")
int afxdp_sink(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&afxdp_sink_count, &key);

	if (v)
		*v += 1;
	key = 1;
	v = bpf_map_lookup_elem(&afxdp_sink_count, &key);
	if (v)
		*v += ctx->data_end - ctx->data;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
