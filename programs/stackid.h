/* Stacks in keys, shared by the BPF texts that take stacks
 * (programs/stacks.bpf.h) and by src/stacks.c.  A key's stack is either a
 * stack the tool kept, named by a 64-bit hash of its addresses with
 * STACK_KEY_BIT set, or why there is none: a small number below.  Keyed
 * by content, two different stacks never share a slot (a BPF stack map
 * keys them by hash bucket, and a stack whose bucket is taken is lost). */
#ifndef CKBTRACE_STACKID_H
#define CKBTRACE_STACKID_H

#include <linux/types.h>

#define STACK_KEY_BIT (1ULL << 63)	/* a kept stack */
#define STACK_OWN_BIT (1ULL << 62)	/* src/stacks.c: unwound in user space */
#define STACK_NOT_TAKEN 2	/* the tool was told not to (-U, -K) */
#define STACK_FULL 12		/* the stack map was full */
#define STACK_NONE 14		/* nothing to walk: a kernel worker's user
				 * stack, a user-mode sample's kernel stack */

#define STACK_MAX_DEPTH 127	/* perf_event_max_stack's default */

/* A kept stack: nr addresses, innermost first. */
struct stack_ips {
	__u64 nr;
	__u64 ip[STACK_MAX_DEPTH];
};

/* Counters of programs/stacks.bpf.h (a per-CPU array), STACKC_*. */
#define STACKC_KEPT 0		/* stacks new to the map */
#define STACKC_USER_FULL 1	/* user stacks the full map could not take */
#define STACKC_KERNEL_FULL 2
#define STACKC_USER_NONE 3	/* user stacks with nothing to walk */
#define STACKC_KERNEL_NONE 4
#define STACKC_COUNT 5

#endif
