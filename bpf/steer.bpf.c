// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * afxdp steering program: sends every packet of an RX queue to the AF_XDP
 * socket bound on that queue, or to the kernel stack when none is bound.
 * User space (crates/afxdp-core/src/bpf/) fills xsks_map and reads the
 * counters; it recognises this program on an interface by its name,
 * afxdp_steer.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "afxdp.h"

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

SEC("xdp")
int afxdp_steer(struct xdp_md *ctx)
{
	__u64 len = ctx->data_end - ctx->data;
	__u32 zero = 0;
	struct afxdp_counters *c;
	long ret;

	/*
	 * The flags argument is the action taken when the queue has no socket
	 * in the map: the packet then goes to the kernel as if we were absent.
	 */
	ret = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);

	/* Per-CPU value: no atomics needed, only this CPU writes it. */
	c = bpf_map_lookup_elem(&afxdp_counters, &zero);
	if (c) {
		if (ret == XDP_REDIRECT) {
			c->steered_packets++;
			c->steered_bytes += len;
		} else {
			c->no_socket++;
			c->passed_packets++;
			c->passed_bytes += len;
		}
	}
	return ret;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
