/* ckb-slowops: every RocksDB operation at or over a threshold, one event
 * each.  The probes are in rocksdb_ops.bpf.h.  Parameters (-D integers):
 *   THRESHOLD_NS   report operations that took at least this long
 *   PERF_BUFFER    1: per-CPU perf buffer, 0: BPF ring buffer
 *   BUFFER_PAGES   ring buffer size in pages (power of two)
 *   STACK_MODE     SLOW_STACK_NONE, _FP or _DWARF (slowops.h)
 *   STACK_BYTES    DWARF: bytes of user stack copied into each event
 *   NCPUS          possible CPUs (the perf buffer's scratch slots)
 *
 * Each event carries its own stack, so that no event's stack depends on
 * another's: return addresses from bpf_get_stack (FP), or the user
 * registers and the top of the user stack (DWARF), read from the return
 * probe's pt_regs and with bpf_probe_read_user only. */
#include "rocksdb_ops.bpf.h"
#include "slowops.h"

#ifndef THRESHOLD_NS
#define THRESHOLD_NS 10000000
#endif
#ifndef BUFFER_PAGES
#define BUFFER_PAGES 64
#endif
#ifndef STACK_MODE
#define STACK_MODE SLOW_STACK_NONE
#endif
#ifndef STACK_BYTES
#define STACK_BYTES 8192
#endif
#ifndef NCPUS
#define NCPUS 1
#endif

#if STACK_MODE == SLOW_STACK_FP
#define TAIL_BYTES (SLOW_MAX_IPS * 8)
#elif STACK_MODE == SLOW_STACK_DWARF
#define TAIL_BYTES STACK_BYTES
#else
#define TAIL_BYTES 8
#endif

struct record {
	struct slow_event e;
	u8 tail[TAIL_BYTES];
};

#if PERF_BUFFER
BPF_PERF_OUTPUT(events);
/* a record is too big for the BPF stack: one slot per CPU */
BPF_ARRAY(scratch, struct record, NCPUS);
#else
BPF_RINGBUF_OUTPUT(events, BUFFER_PAGES);
#endif
BPF_PERCPU_ARRAY(counters, u64, CNT_COUNT);

static __always_inline void count(u32 i)
{
	u64 *c = counters.lookup(&i);

	if (c)
		(*c)++;
}

/* rocksdb_column_family_handle_t { ColumnFamilyHandle *rep; ... }, whose
 * ColumnFamilyHandleImpl keeps ColumnFamilyData *cfd_ after its vtable
 * pointer; ColumnFamilyData starts with uint32_t id_.  (RocksDB 7.x/8.x;
 * the tests check the ids against rocksdb_column_family_handle_get_id.) */
static __always_inline u32 cf_id(u64 handle)
{
	u64 rep = 0, cfd = 0;
	u32 id = SLOW_NO_CF;

	if (!handle)
		return SLOW_NO_CF;
	if (bpf_probe_read_user(&rep, sizeof(rep), (void *)handle) || !rep)
		return SLOW_NO_CF;
	if (bpf_probe_read_user(&cfd, sizeof(cfd), (void *)(rep + 8)) || !cfd)
		return SLOW_NO_CF;
	if (bpf_probe_read_user(&id, sizeof(id), (void *)cfd))
		return SLOW_NO_CF;
	return id;
}

#if STACK_MODE == SLOW_STACK_DWARF
/* Copy STACK_BYTES from sp up.  Near the top of a stack (the main
 * thread's, say) that would run off the mapping and the read fails
 * whole: then copy up to the highest page end that can be read. */
static __always_inline int copy_stack(struct record *r, u64 sp)
{
	u64 to_page = 4096 - (sp & 4095), len;
	int k;

	if (bpf_probe_read_user(r->tail, STACK_BYTES, (void *)sp) == 0)
		return STACK_BYTES;
#pragma unroll
	for (k = STACK_BYTES / 4096; k >= 0; k--) {
		len = to_page + (u64)k * 4096;
		if (len > STACK_BYTES)
			continue;
		if (bpf_probe_read_user(r->tail, len, (void *)sp) == 0)
			return (int)len;
	}
	return -14;	/* -EFAULT */
}
#endif

static __always_inline void fill(struct pt_regs *ctx, struct record *r,
				 const struct op_done *d)
{
	struct slow_event *e = &r->e;
	u64 pid_tgid = bpf_get_current_pid_tgid();
	int n;

	e->ts_ns = bpf_ktime_get_ns();
	e->lat_ns = d->lat;
	e->bytes = d->bytes;
	e->klen = d->klen;
	e->pid = pid_tgid >> 32;
	e->tid = (u32)pid_tgid;
	e->op = d->op;
	e->cf_id = cf_id(d->cf);
	e->err = d->err;
	e->known = d->known;
	e->stack_mode = STACK_MODE;
	e->stack_err = 0;
	e->nips = 0;
	e->stack_len = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
#if STACK_MODE == SLOW_STACK_FP
	n = bpf_get_stack(ctx, r->tail, sizeof(r->tail), BPF_F_USER_STACK);
	if (n < 0)
		e->stack_err = n;
	else
		e->nips = (u32)n / 8;
#elif STACK_MODE == SLOW_STACK_DWARF
	e->regs[0] = ctx->ax;
	e->regs[1] = ctx->dx;
	e->regs[2] = ctx->cx;
	e->regs[3] = ctx->bx;
	e->regs[4] = ctx->si;
	e->regs[5] = ctx->di;
	e->regs[6] = ctx->bp;
	e->regs[7] = ctx->sp;
	e->regs[8] = ctx->r8;
	e->regs[9] = ctx->r9;
	e->regs[10] = ctx->r10;
	e->regs[11] = ctx->r11;
	e->regs[12] = ctx->r12;
	e->regs[13] = ctx->r13;
	e->regs[14] = ctx->r14;
	e->regs[15] = ctx->r15;
	e->regs[16] = ctx->ip;
	n = copy_stack(r, ctx->sp);
	if (n < 0)
		e->stack_err = n;
	else
		e->stack_len = (u32)n;
#endif
}

static __always_inline void op_record(struct pt_regs *ctx,
				      const struct op_done *d)
{
	if (d->bytes_only)
		return;
	if (d->lat < THRESHOLD_NS) {
		count(CNT_UNDER);
		return;
	}
#if PERF_BUFFER
	u32 cpu = bpf_get_smp_processor_id();
	struct record *r = scratch.lookup(&cpu);

	if (!r) {
		count(CNT_LOST);
		return;
	}
	fill(ctx, r, d);
	if (events.perf_submit(ctx, r, sizeof(*r)) < 0)
		count(CNT_LOST);
	else
		count(CNT_SENT);
#else
	struct record *r = events.ringbuf_reserve(sizeof(struct record));

	if (!r) {
		count(CNT_LOST);
		return;
	}
	fill(ctx, r, d);
	events.ringbuf_submit(r, 0);
	count(CNT_SENT);
#endif
}
