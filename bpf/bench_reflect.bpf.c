// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Latency benchmark programs.
 *
 * afxdp_reflect: the kernel floor of the latency benchmark: swaps the MAC
 * addresses and sends every frame back out (XDP_TX), like testpmd's macswap.
 *
 * afxdp_probe_filter: on the probing end, passes the probe replies (UDP
 * destination port 7) to the stack, where the probe's packet socket reads
 * them, and drops everything else (reflected background traffic), so a
 * loaded run does not flood the probe. Its presence also gives the veth
 * the receive queue that frames sent back with XDP_TX need.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PROBE_PORT 7

SEC("xdp")
int afxdp_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int afxdp_probe_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_DROP;
	return udp->dest == bpf_htons(PROBE_PORT) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
