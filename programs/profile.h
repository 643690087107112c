/* Types shared by profile.bpf.c and ckb-profile.  Fixed-width only. */
#ifndef CKBTRACE_PROFILE_H
#define CKBTRACE_PROFILE_H

#include <linux/types.h>

/* One row: a thread name and where it was on CPU. */
struct prof_key {
	__s32 ustack;		/* stack ids, or why not (stackid.h) */
	__s32 kstack;
	char comm[16];
};

/* Counters (a per-CPU array), PROFC_* indexes. */
#define PROFC_SAMPLES 0		/* every sample, on every CPU */
#define PROFC_IDLE 1		/* the CPU was idle (PID 0) */
#define PROFC_OTHER 2		/* another process ran */
#define PROFC_OURS 3		/* the traced process ran */
#define PROFC_KEYS_FULL 4	/* ours, but the rows map was full */
#define PROFC_USTACK_COLLISION 5	/* bpf_get_stackid -EEXIST, user stack */
#define PROFC_USTACK_FULL 6	/* -ENOMEM */
#define PROFC_USTACK_NONE 7	/* -EFAULT: no user stack (a kernel worker) */
#define PROFC_KSTACK_COLLISION 8
#define PROFC_KSTACK_FULL 9
#define PROFC_KSTACK_NONE 10	/* -EFAULT: the sample hit user mode */
#define PROFC_COUNT 11

#endif
