/* Types shared by slowops.bpf.c and ckb-slowops.  Fixed-width only. */
#ifndef CKBTRACE_SLOWOPS_H
#define CKBTRACE_SLOWOPS_H

#include <linux/types.h>

#define SLOW_NO_CF 0xffffffffu

/* How an event carries its user stack (STACK_MODE). */
#define SLOW_STACK_NONE 0
#define SLOW_STACK_FP 1		/* return addresses, walked by the kernel
				 * through frame pointers (bpf_get_stack) */
#define SLOW_STACK_DWARF 2	/* registers and a copy of the stack top,
				 * unwound in user space through CFI */

#define SLOW_MAX_IPS 127	/* perf_event_max_stack's default */
#define SLOW_NREGS 17		/* x86-64 DWARF registers 0..16 (rip) */

/* One slow operation, as the BPF side delivers it.  Followed, in the
 * same record, by the stack: SLOW_MAX_IPS __u64 return addresses (FP),
 * or STACK_BYTES bytes copied from the user stack pointer up (DWARF). */
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
	__u32 stack_mode;	/* SLOW_STACK_* */
	__s32 stack_err;	/* < 0: bpf_get_stack or the copy failed */
	__u32 nips;		/* FP: return addresses that follow */
	__u32 stack_len;	/* DWARF: stack bytes that follow */
	char comm[16];		/* thread name */
	/* DWARF: the user registers at the return, in DWARF order (rax, rdx,
	 * rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, rip) */
	__u64 regs[SLOW_NREGS];
};

/* Per-CPU counters kept by the BPF side. */
#define CNT_SENT 0		/* events handed to the buffer */
#define CNT_LOST 1		/* events the buffer had no room for */
#define CNT_UNDER 2		/* operations under the threshold */
#define CNT_COUNT 3

#endif
