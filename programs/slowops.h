/* Types shared by slowops.bpf.c and ckb-slowops.  Fixed-width only. */
#ifndef CKBTRACE_SLOWOPS_H
#define CKBTRACE_SLOWOPS_H

#include <linux/types.h>

#define SLOW_NO_CF 0xffffffffu

/* One slow operation, as the BPF side delivers it. */
struct slow_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC at return */
	__u64 lat_ns;
	__u64 bytes;
	__u64 klen;
	__u32 pid;
	__u32 tid;
	__u32 op;
	__u32 cf_id;		/* SLOW_NO_CF when the call names none */
	__u32 err;		/* *errptr was set on return */
	__u32 known;		/* bytes is meaningful */
	__s32 stack_id;		/* user stack, or < 0 */
	__u32 pad;
	char comm[16];		/* thread name */
};

/* Per-CPU counters kept by the BPF side. */
#define CNT_SENT 0		/* events handed to the buffer */
#define CNT_LOST 1		/* events the buffer had no room for */
#define CNT_UNDER 2		/* operations under the threshold */
#define CNT_COUNT 3

#endif
