/* Types shared by profile.bpf.c and ckb-profile.  Fixed-width only. */
#ifndef CKBTRACE_PROFILE_H
#define CKBTRACE_PROFILE_H

#include <linux/types.h>

/* How user stacks are taken (STACK_MODE). */
#define PROF_STACK_FP 1		/* return addresses, walked by the kernel
				 * through frame pointers (stack map) */
#define PROF_STACK_DWARF 2	/* registers and a copy of the stack top,
				 * unwound in user space through CFI */

/* One row of the map: a thread name and where it was on CPU. */
struct prof_key {
	__u64 ustack;		/* stack keys, or why not (stackid.h) */
	__u64 kstack;
	char comm[16];
	__u32 fp_in_kernel;	/* DWARF mode, but the sample hit the kernel:
				 * the user stack is a frame-pointer walk */
	__u32 pad;
};

#define PROF_NREGS 17		/* x86-64 DWARF registers 0..16 (rip) */

/* DWARF mode: one sample that hit user mode, followed in the same ring
 * buffer record by stack_len bytes copied from the user stack pointer up. */
struct prof_sample {
	__u32 tid;
	__s32 copy_err;		/* < 0: the stack could not be read */
	__u32 stack_len;
	__u32 pad;
	char comm[16];
	/* rax, rdx, rcx, rbx, rsi, rdi, rbp, rsp, r8..r15, rip */
	__u64 regs[PROF_NREGS];
};

/* Counters (a per-CPU array), PROFC_* indexes; the stacks' own are in
 * stackid.h. */
#define PROFC_SAMPLES 0		/* every sample, on every CPU */
#define PROFC_IDLE 1		/* the CPU was idle (PID 0) */
#define PROFC_OTHER 2		/* another process ran */
#define PROFC_OURS 3		/* the traced process ran */
#define PROFC_KEYS_FULL 4	/* ours, but the rows map was full */
#define PROFC_SENT 5		/* DWARF: samples sent with a stack copy */
#define PROFC_LOST 6		/* DWARF: ... the ring buffer had no room */
#define PROFC_FP_IN_KERNEL 7	/* DWARF: in the kernel, walked by fp */
#define PROFC_USER_MODE 8	/* DWARF: in user mode (no kernel stack) */
#define PROFC_COUNT 9

#endif
