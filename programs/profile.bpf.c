/* ckb-profile: on-CPU stacks of a process, sampled by a cpu-clock perf
 * event on every CPU.  Every sample is counted: the traced process's by
 * thread name and stacks, the others as idle or as another process's.
 * Only helpers: no kernel struct.  Parameters (-D integers):
 *   WANT_USER        1: take user stacks
 *   WANT_KERNEL      1: take kernel stacks
 *   STACK_ENTRIES    stack map size
 *   MAX_ROWS         rows map size */
#include <uapi/linux/bpf_perf_event.h>

#include <uapi/asm-generic/errno-base.h>

#include "target.bpf.h"
#include "stackid.h"
#include "profile.h"

#ifndef WANT_USER
#define WANT_USER 1
#endif
#ifndef WANT_KERNEL
#define WANT_KERNEL 1
#endif
#ifndef STACK_ENTRIES
#define STACK_ENTRIES 16384
#endif
#ifndef MAX_ROWS
#define MAX_ROWS 16384
#endif

BPF_HASH(prof_rows, struct prof_key, u64, MAX_ROWS);
BPF_STACK_TRACE(prof_stacks, STACK_ENTRIES);
BPF_PERCPU_ARRAY(prof_counts, u64, PROFC_COUNT);

static __always_inline void count(u32 i)
{
	u64 *c = prof_counts.lookup(&i);

	if (c)
		(*c)++;
}

static __always_inline s32 stack_of(void *ctx, u64 flags, u32 collision)
{
	s32 id = prof_stacks.get_stackid(ctx, flags);

	if (id == -EEXIST)
		count(collision);
	else if (id == -ENOMEM)
		count(collision + 1);
	else if (id < 0)
		count(collision + 2);
	return id;
}

int profile_sample(struct bpf_perf_event_data *ctx)
{
	u64 id = bpf_get_current_pid_tgid(), one = 1, *v;
	struct prof_key k = {};

	count(PROFC_SAMPLES);
	if (id == 0) {
		count(PROFC_IDLE);
		return 0;
	}
	if (!ours(id)) {
		count(PROFC_OTHER);
		return 0;
	}
	count(PROFC_OURS);
	bpf_get_current_comm(&k.comm, sizeof(k.comm));
	k.ustack = WANT_USER ?
		stack_of(ctx, BPF_F_USER_STACK, PROFC_USTACK_COLLISION) :
		STACKID_NOT_TAKEN;
	k.kstack = WANT_KERNEL ?
		stack_of(ctx, 0, PROFC_KSTACK_COLLISION) : STACKID_NOT_TAKEN;
	v = prof_rows.lookup(&k);
	if (v) {
		__sync_fetch_and_add(v, 1);
	} else if (prof_rows.insert(&k, &one) != 0) {
		/* another CPU may have added it meanwhile */
		v = prof_rows.lookup(&k);
		if (v)
			__sync_fetch_and_add(v, 1);
		else
			count(PROFC_KEYS_FULL);
	}
	return 0;
}
