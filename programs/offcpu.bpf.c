/* ckb-offcpu: where and why a process's threads wait.  At sched_switch
 * the thread leaving the CPU is still the current task: its user and
 * kernel stacks are taken there (bpf_get_stack walks them by frame
 * pointers; stacks.bpf.h keeps them by content) with the time and
 * prev_state; sched_wakeup notes when it was
 * woken; the sched_switch that puts it back on a CPU (next_pid) closes
 * the block.  Only tracepoint fields (prev_pid, prev_state, next_pid,
 * pid) and helpers: no kernel struct.  Parameters (-D integers):
 *   MIN_NS, MAX_NS   count blocks of at least / at most this long
 *   WANT_USER        1: take user stacks
 *   WANT_KERNEL      1: take kernel stacks
 *   STACK_ENTRIES    stacks kept at most
 *   MAX_ROWS         rows map size
 *   MAX_THREADS      threads off CPU at once */
#include "target.bpf.h"
#include "stacks.bpf.h"
#include "offcpu.h"

#ifndef MIN_NS
#define MIN_NS 0
#endif
#ifndef MAX_NS
#define MAX_NS 0xffffffffffffffffULL
#endif
#ifndef WANT_USER
#define WANT_USER 1
#endif
#ifndef WANT_KERNEL
#define WANT_KERNEL 1
#endif
#ifndef MAX_ROWS
#define MAX_ROWS 16384
#endif
#ifndef MAX_THREADS
#define MAX_THREADS 16384
#endif

struct off_start {
	u64 ts;			/* switched out */
	u64 wake;		/* sched_wakeup, 0: not yet */
	struct off_key key;
};

BPF_HASH(off_starts, u32, struct off_start, MAX_THREADS);
BPF_HASH(off_rows, struct off_key, struct off_val, MAX_ROWS);
BPF_PERCPU_ARRAY(off_counts, u64, OFFC_COUNT);

static __always_inline void count(u32 i)
{
	u64 *c = off_counts.lookup(&i);

	if (c)
		(*c)++;
}

/* prev_state as Linux 4.14+ reports it (one bit per state, 0 or
 * TASK_REPORT_MAX when still runnable) and as older kernels did (the raw
 * state, TASK_STATE_MAX when preempted); 0 for a thread that exits. */
static __always_inline u32 state_of(s64 st)
{
	if (st & 0x1)
		return OFF_S;
	if (st & 0x2)
		return OFF_D;
	if (st & 0xc)
		return OFF_T;
	if (st & 0x70)		/* X, Z; old kernels' TASK_DEAD */
		return 0;
	if (st & 0x80)
		return OFF_I;
	return OFF_R;
}

static __always_inline void block_end(struct off_start *s, u64 now)
{
	struct off_val zero = {}, *v;
	u64 d = now - s->ts, runq = 0;

	if (d < MIN_NS) {
		count(OFFC_UNDER);
		return;
	}
	if (d > MAX_NS) {
		count(OFFC_OVER);
		return;
	}
	if (s->key.state == OFF_R)
		runq = d;
	else if (s->wake && s->wake >= s->ts && s->wake <= now)
		runq = now - s->wake;
	else
		count(OFFC_NO_WAKEUP);
	v = off_rows.lookup(&s->key);
	if (!v) {
		off_rows.insert(&s->key, &zero);
		v = off_rows.lookup(&s->key);
	}
	if (!v) {
		count(OFFC_KEYS_FULL);
		return;
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ns, d);
	__sync_fetch_and_add(&v->runq_ns, runq);
	if (d > v->max_ns)
		v->max_ns = d;
	count(OFFC_BLOCKS);
}

TRACEPOINT_PROBE(sched, sched_switch)
{
	u64 now = bpf_ktime_get_ns(), id = bpf_get_current_pid_tgid();
	u32 prev = args->prev_pid, next = args->next_pid, st;
	struct off_start s = {}, *in;

	/* the thread going off CPU is the current task */
	if (prev && (u32)id == prev && ours(id)) {
		st = state_of(args->prev_state);
		if (st) {
			s.ts = now;
			s.key.tid = prev;
			s.key.state = st;
			bpf_get_current_comm(&s.key.comm, sizeof(s.key.comm));
			s.key.ustack = WANT_USER ? take_stack(args, 1) :
						   STACK_NOT_TAKEN;
			s.key.kstack = WANT_KERNEL ? take_stack(args, 0) :
						     STACK_NOT_TAKEN;
			/* its last block still open: the kernel did not
			 * run this program when it came back (seen under
			 * load); counted, never silently dropped */
			if (off_starts.lookup(&prev))
				count(OFFC_NO_SWITCH_IN);
			if (off_starts.update(&prev, &s) != 0)
				count(OFFC_STARTS_FULL);
		} else {
			off_starts.delete(&prev);
		}
	}
	/* the thread coming back: only ours are in off_starts */
	in = off_starts.lookup(&next);
	if (in) {
		block_end(in, now);
		off_starts.delete(&next);
	}
	return 0;
}

TRACEPOINT_PROBE(sched, sched_wakeup)
{
	u32 tid = args->pid;
	struct off_start *s = off_starts.lookup(&tid);

	if (s && !s->wake)
		s->wake = bpf_ktime_get_ns();
	return 0;
}
