// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A freplace (BPF_PROG_TYPE_EXT) program that does nothing. `afxdp doctor`
 * loads it, never attached, against the steering program's entry function to
 * learn whether this kernel accepts freplace programs: libxdp's multi-program
 * dispatcher (xdp-loader, xdp-filter) chains its programs through them, so
 * without them no dispatcher can exist (crates/afxdp-core/src/bpf/probe.rs).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("freplace/afxdp_steer")
int afxdp_freplace_probe(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
