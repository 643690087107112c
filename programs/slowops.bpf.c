/* ckb-slowops: every RocksDB operation at or over a threshold, one event
 * each.  The probes are in rocksdb_ops.bpf.h.  Parameters (-D integers):
 *   THRESHOLD_NS   report operations that took at least this long
 *   PERF_BUFFER    1: per-CPU perf buffer, 0: BPF ring buffer
 *   BUFFER_PAGES   ring buffer size in pages (power of two)
 *   USER_STACK     1: record the user stack of each event
 *   STACK_ENTRIES  stacks kept at once */
#include "rocksdb_ops.bpf.h"
#include "slowops.h"

#ifndef THRESHOLD_NS
#define THRESHOLD_NS 10000000
#endif
#ifndef BUFFER_PAGES
#define BUFFER_PAGES 64
#endif
#ifndef STACK_ENTRIES
#define STACK_ENTRIES 16384
#endif

#if PERF_BUFFER
BPF_PERF_OUTPUT(events);
#else
BPF_RINGBUF_OUTPUT(events, BUFFER_PAGES);
#endif
BPF_PERCPU_ARRAY(counters, u64, CNT_COUNT);
#if USER_STACK
BPF_STACK_TRACE(stacks, STACK_ENTRIES);
#endif

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

static __always_inline void fill(struct pt_regs *ctx, struct slow_event *e,
				 const struct op_done *d)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();

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
	e->pad = 0;
#if USER_STACK
	e->stack_id = stacks.get_stackid(ctx, BPF_F_USER_STACK);
#else
	e->stack_id = -1;
#endif
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
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
	struct slow_event e = {};

	fill(ctx, &e, d);
	if (events.perf_submit(ctx, &e, sizeof(e)) < 0)
		count(CNT_LOST);
	else
		count(CNT_SENT);
#else
	struct slow_event *e = events.ringbuf_reserve(sizeof(*e));

	if (!e) {
		count(CNT_LOST);
		return;
	}
	fill(ctx, e, d);
	events.ringbuf_submit(e, 0);
	count(CNT_SENT);
#endif
}
