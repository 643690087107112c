/* ckb-profile: on-CPU stacks of a process, sampled by a cpu-clock perf
 * event on every CPU.  Every sample is counted: the traced process's by
 * thread name and stacks, the others as idle or as another process's.
 * Only helpers, the sample's registers and user memory: no kernel
 * struct.  Parameters (-D integers):
 *   WANT_USER        1: take user stacks
 *   WANT_KERNEL      1: take kernel stacks
 *   STACK_MODE       PROF_STACK_FP or PROF_STACK_DWARF (profile.h)
 *   STACK_BYTES      DWARF: bytes of user stack copied per sample
 *   BUFFER_PAGES     DWARF: ring buffer size in pages (power of two)
 *   STACK_ENTRIES    stacks kept at most
 *   MAX_ROWS         rows map size
 *
 * With DWARF, a sample that hit user mode carries the user registers (the
 * sample's own) and a copy of the stack top to user space, which unwinds
 * it through CFI.  A sample that hit the kernel has only kernel registers:
 * the user ones are in the task, which is not read, so its user stack is
 * the kernel's frame-pointer walk, marked as such. */
#include <uapi/linux/bpf_perf_event.h>
#include <uapi/asm-generic/errno-base.h>

#include "target.bpf.h"
#include "stacks.bpf.h"
#include "profile.h"

#ifndef WANT_USER
#define WANT_USER 1
#endif
#ifndef WANT_KERNEL
#define WANT_KERNEL 1
#endif
#ifndef STACK_MODE
#define STACK_MODE PROF_STACK_FP
#endif
#ifndef STACK_BYTES
#define STACK_BYTES 8192
#endif
#ifndef BUFFER_PAGES
#define BUFFER_PAGES 256
#endif
#ifndef MAX_ROWS
#define MAX_ROWS 16384
#endif

BPF_HASH(prof_rows, struct prof_key, u64, MAX_ROWS);
BPF_PERCPU_ARRAY(prof_counts, u64, PROFC_COUNT);
#if STACK_MODE == PROF_STACK_DWARF && WANT_USER
struct prof_record {
	struct prof_sample s;
	u8 stack[STACK_BYTES];
};
BPF_RINGBUF_OUTPUT(prof_events, BUFFER_PAGES);
#endif

static __always_inline void count(u32 i)
{
	u64 *c = prof_counts.lookup(&i);

	if (c)
		(*c)++;
}

#if STACK_MODE == PROF_STACK_DWARF && WANT_USER
/* Copy STACK_BYTES from sp up; near the top of a stack, up to the highest
 * page end that can be read. */
static __always_inline int copy_stack(struct prof_record *r, u64 sp)
{
	u64 to_page = 4096 - (sp & 4095), len;
	int k;

	if (bpf_probe_read_user(r->stack, STACK_BYTES, (void *)sp) == 0)
		return STACK_BYTES;
#pragma unroll
	for (k = STACK_BYTES / 4096; k >= 0; k--) {
		len = to_page + (u64)k * 4096;
		if (len > STACK_BYTES)
			continue;
		if (bpf_probe_read_user(r->stack, len, (void *)sp) == 0)
			return (int)len;
	}
	return -EFAULT;
}

/* A sample in user mode: its registers and stack to user space. */
static __always_inline void send_user(struct bpf_perf_event_data *ctx,
				      u64 id)
{
	struct prof_record *r =
		prof_events.ringbuf_reserve(sizeof(struct prof_record));
	struct prof_sample *s;
	int n;

	if (!r) {
		count(PROFC_LOST);
		return;
	}
	s = &r->s;
	s->tid = (u32)id;
	s->pad = 0;
	bpf_get_current_comm(&s->comm, sizeof(s->comm));
	s->regs[0] = ctx->regs.ax;
	s->regs[1] = ctx->regs.dx;
	s->regs[2] = ctx->regs.cx;
	s->regs[3] = ctx->regs.bx;
	s->regs[4] = ctx->regs.si;
	s->regs[5] = ctx->regs.di;
	s->regs[6] = ctx->regs.bp;
	s->regs[7] = ctx->regs.sp;
	s->regs[8] = ctx->regs.r8;
	s->regs[9] = ctx->regs.r9;
	s->regs[10] = ctx->regs.r10;
	s->regs[11] = ctx->regs.r11;
	s->regs[12] = ctx->regs.r12;
	s->regs[13] = ctx->regs.r13;
	s->regs[14] = ctx->regs.r14;
	s->regs[15] = ctx->regs.r15;
	s->regs[16] = ctx->regs.ip;
	n = copy_stack(r, ctx->regs.sp);
	s->copy_err = n < 0 ? n : 0;
	s->stack_len = n < 0 ? 0 : (u32)n;
	prof_events.ringbuf_submit(r, 0);
	count(PROFC_SENT);
}
#endif

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
#if STACK_MODE == PROF_STACK_DWARF && WANT_USER
	if ((ctx->regs.cs & 3) == 3) {
		/* user mode: no kernel stack, the user one unwound there */
		count(PROFC_USER_MODE);
		send_user(ctx, id);
		return 0;
	}
	k.fp_in_kernel = 1;
	count(PROFC_FP_IN_KERNEL);
#endif
	bpf_get_current_comm(&k.comm, sizeof(k.comm));
	k.ustack = WANT_USER ? take_stack(ctx, 1) : STACK_NOT_TAKEN;
	k.kstack = WANT_KERNEL ? take_stack(ctx, 0) : STACK_NOT_TAKEN;
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
