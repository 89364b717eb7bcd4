// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test fixture: an XDP program that is not ours. The integration tests attach
 * it with `ip link set dev X xdp obj ...` to check that afxdp refuses to
 * replace another program and leaves it in place.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int someone_elses(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
