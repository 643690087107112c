/* Types shared by offcpu.bpf.c and ckb-offcpu.  Fixed-width only. */
#ifndef CKBTRACE_OFFCPU_H
#define CKBTRACE_OFFCPU_H

#include <linux/types.h>

/* Why a thread left the CPU, from sched_switch's prev_state. */
#define OFF_S 'S'	/* sleeping (TASK_INTERRUPTIBLE): waits for an event */
#define OFF_D 'D'	/* uninterruptible: disk I/O, some locks, vfork */
#define OFF_R 'R'	/* still runnable: preempted, or yielded */
#define OFF_T 'T'	/* stopped or traced */
#define OFF_I 'I'	/* idle wait (TASK_IDLE) */
#define OFF_P 'P'	/* parked */

/* One row: a thread, where it was when it left the CPU, and why. */
struct off_key {
	__u64 ustack;		/* stack keys, or why not (stackid.h) */
	__u64 kstack;
	__u32 tid;
	__u32 state;		/* OFF_* */
	char comm[16];
};

struct off_val {
	__u64 count;		/* blocks */
	__u64 total_ns;		/* off CPU: switch out to switch in */
	__u64 max_ns;
	__u64 runq_ns;		/* of which runnable: wakeup to switch in */
};

/* Counters (a per-CPU array), OFFC_* indexes; the stacks' own are in
 * stackid.h. */
#define OFFC_BLOCKS 0		/* blocks measured and counted */
#define OFFC_UNDER 1		/* shorter than -m */
#define OFFC_OVER 2		/* longer than -M */
#define OFFC_KEYS_FULL 3	/* a new row found the rows map full */
#define OFFC_STARTS_FULL 4	/* a switch out found the threads map full */
#define OFFC_NO_WAKEUP 5	/* a sleep ended without a wakeup seen */
#define OFFC_NO_SWITCH_IN 6	/* a switch out found the thread's last one
				 * still open: its switch in was not seen */
#define OFFC_COUNT 7

#endif
