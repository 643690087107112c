/* ckb-rdblat: per-operation RocksDB latency.
 *
 * Parameters arrive as -D integers only:
 *   TARGET_TGID  0, or the only process whose calls count
 *   DEDUP        1 when both the C API and the C++ layer are attached: a
 *                C++ entry point reached from inside a C API call on the
 *                same thread is not counted again
 *
 * Reads user memory only through bpf_probe_read_user and never touches a
 * kernel struct, so the program is the same on every kernel. */
#include <uapi/linux/ptrace.h>
#include "rdblat.h"

#ifndef TARGET_TGID
#define TARGET_TGID 0
#endif
#ifndef DEDUP
#define DEDUP 0
#endif

struct start_key {
	u32 tid;
	u32 op;
};

struct start_val {
	u64 ts;
	u64 bytes;
	u64 aux;	/* size_t *vallen of a get, or char **errptr of a write */
	u64 obj;	/* transaction or batch whose byte tally this call feeds */
};

BPF_HASH(start, struct start_key, struct start_val, 65536);
BPF_PERCPU_ARRAY(hist, struct op_hist, OP_COUNT);
BPF_PERCPU_ARRAY(maxv, u64, OP_COUNT);
BPF_PERCPU_ARRAY(drops, u64, DROP_COUNT);
BPF_HASH(pending, u64, u64, 65536);
#if DEDUP
BPF_HASH(incapi, u32, u32, 65536);
#endif

#define A0 PT_REGS_PARM1(ctx)
#define A1 PT_REGS_PARM2(ctx)
#define A2 PT_REGS_PARM3(ctx)
#define A3 PT_REGS_PARM4(ctx)
#define A4 PT_REGS_PARM5(ctx)
#define A5 PT_REGS_PARM6(ctx)
/* Argument 6 + n of a call, on the stack above the return address. */
#define STACK_ARG(n) stack_arg(ctx, n)

#define K_PLAIN 0	/* bytes as measured at entry */
#define K_PINNED 1	/* bytes = size of the returned PinnableSlice */
#define K_VLEN 2	/* bytes = *vallen when a value came back */
#define K_ERRCHK 3	/* bytes only if *errptr stayed NULL */
#define K_TALLY 4	/* as K_ERRCHK, and add them to the txn's tally */
#define K_COMMIT 5	/* as K_ERRCHK, and the txn's tally starts over */

static __always_inline void drop(u32 why)
{
	u64 *c = drops.lookup(&why);

	if (c)
		(*c)++;
}

static __always_inline u64 stack_arg(struct pt_regs *ctx, u32 n)
{
	u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v),
			    (void *)(PT_REGS_SP(ctx) + 8 * (n + 1)));
	return v;
}

static __always_inline int ours(u64 pid_tgid)
{
	return TARGET_TGID == 0 || (pid_tgid >> 32) == TARGET_TGID;
}

static __always_inline u64 tally_get(u64 obj)
{
	u64 *v = pending.lookup(&obj);

	return v ? *v : 0;
}

static __always_inline void tally_add(u64 obj, u64 n)
{
	u64 *v = pending.lookup(&obj);

	if (v) {
		__sync_fetch_and_add(v, n);
	} else if (pending.update(&obj, &n) != 0) {
		drop(DROP_PENDING_FULL);
	}
}

static __always_inline void tally_forget(u64 obj)
{
	pending.delete(&obj);
}

static __always_inline int capi_depth(u32 tid, int delta)
{
#if DEDUP
	u32 *d = incapi.lookup(&tid);
	u32 one = 1;

	if (delta > 0) {
		if (d)
			(*d)++;
		else
			incapi.update(&tid, &one);
		return 1;
	}
	if (delta < 0) {
		if (d && *d > 1)
			(*d)--;
		else if (d)
			incapi.delete(&tid);
		return 0;
	}
	return d ? *d : 0;
#else
	return 0;
#endif
}

static __always_inline int op_enter(struct pt_regs *ctx, u32 op, u64 bytes,
				    u64 aux, u64 obj, int layer)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct start_key k = { .tid = (u32)pid_tgid, .op = op };
	struct start_val v = {};

	if (!ours(pid_tgid))
		return 0;
	if (layer < 0 && capi_depth(k.tid, 0))
		return 0;
	if (layer > 0)
		capi_depth(k.tid, 1);
	v.bytes = bytes;
	v.aux = aux;
	v.obj = obj;
	v.ts = bpf_ktime_get_ns();
	if (start.update(&k, &v) != 0)
		drop(DROP_START_FULL);
	return 0;
}

static __always_inline u64 errptr_set(u64 errpp)
{
	u64 err = 0;

	if (errpp)
		bpf_probe_read_user(&err, sizeof(err), (void *)errpp);
	return err;
}

static __always_inline int op_exit(struct pt_regs *ctx, u32 op, int kind,
				   int layer)
{
	u64 now = bpf_ktime_get_ns();
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct start_key k = { .tid = (u32)pid_tgid, .op = op };
	struct start_val *s;
	struct op_hist *h;
	u64 lat, bytes, ret, *m;
	u32 b, known = 1;

	if (!ours(pid_tgid))
		return 0;
	if (layer > 0)
		capi_depth(k.tid, -1);
	else if (layer < 0 && capi_depth(k.tid, 0))
		return 0;
	s = start.lookup(&k);
	if (!s) {
		drop(DROP_NO_START);
		return 0;
	}
	lat = now - s->ts;
	bytes = s->bytes;
	ret = PT_REGS_RC(ctx);
	if (kind == K_PINNED) {
		bytes = 0;
		if (ret)
			bpf_probe_read_user(&bytes, sizeof(bytes),
					    (void *)(ret + 8));
	} else if (kind == K_VLEN) {
		bytes = 0;
		if (ret && s->aux)
			bpf_probe_read_user(&bytes, sizeof(bytes),
					    (void *)s->aux);
	} else if (kind >= K_ERRCHK) {
		if (errptr_set(s->aux))
			bytes = 0;
		if (kind == K_TALLY && bytes)
			tally_add(s->obj, bytes);
		if (kind == K_COMMIT)
			tally_forget(s->obj);
	} else {
		known = 0;
	}
	start.delete(&k);

	h = hist.lookup(&op);
	if (!h)
		return 0;
	h->count++;
	h->sum_ns += lat;
	h->bytes += bytes;
	h->bytes_known += known;
	b = hist_bucket(lat);
	if (b < HIST_NBUCKETS)
		h->slot[b]++;
	m = maxv.lookup(&op);
	if (m && lat > *m)
		*m = lat;
	return 0;
}

#define CAPI 1
#define CXX (-1)
#define BG 0

#define ENTRY(fn, op, bytes, aux, obj, layer)				\
	int fn(struct pt_regs *ctx)					\
	{								\
		return op_enter(ctx, op, bytes, aux, obj, layer);	\
	}
#define RETURN(fn, op, kind, layer)					\
	int fn(struct pt_regs *ctx)					\
	{								\
		return op_exit(ctx, op, kind, layer);			\
	}

/* C API: argument positions follow rocksdb/c.h. */
ENTRY(e_get, OP_GET, 0, 0, 0, CAPI)
ENTRY(e_get_vl5, OP_GET, 0, A5, 0, CAPI)
ENTRY(e_get_vl4, OP_GET, 0, A4, 0, CAPI)
RETURN(r_get_pinned, OP_GET, K_PINNED, CAPI)
RETURN(r_get_vl, OP_GET, K_VLEN, CAPI)

ENTRY(e_tget, OP_TXN_GET, 0, 0, 0, CAPI)
ENTRY(e_tget_vl5, OP_TXN_GET, 0, A5, 0, CAPI)
ENTRY(e_tget_vl4, OP_TXN_GET, 0, A4, 0, CAPI)
RETURN(r_tget_pinned, OP_TXN_GET, K_PINNED, CAPI)
RETURN(r_tget_vl, OP_TXN_GET, K_VLEN, CAPI)

ENTRY(e_put_cf, OP_PUT, A4 + STACK_ARG(0), STACK_ARG(1), 0, CAPI)
ENTRY(e_put, OP_PUT, A3 + A5, STACK_ARG(0), 0, CAPI)
RETURN(r_put, OP_PUT, K_ERRCHK, CAPI)

ENTRY(e_tput_cf, OP_TXN_PUT, A3 + A5, STACK_ARG(0), A0, CAPI)
ENTRY(e_tput, OP_TXN_PUT, A2 + A4, A5, A0, CAPI)
RETURN(r_tput, OP_TXN_PUT, K_TALLY, CAPI)

ENTRY(e_del_cf, OP_DELETE, A4, A5, 0, CAPI)
ENTRY(e_del, OP_DELETE, A3, A4, 0, CAPI)
RETURN(r_del, OP_DELETE, K_ERRCHK, CAPI)

ENTRY(e_tdel_cf, OP_TXN_DELETE, A3, A4, A0, CAPI)
ENTRY(e_tdel, OP_TXN_DELETE, A2, A3, A0, CAPI)
RETURN(r_tdel, OP_TXN_DELETE, K_TALLY, CAPI)

ENTRY(e_write, OP_WRITE, tally_get(A2), A3, 0, CAPI)
RETURN(r_write, OP_WRITE, K_ERRCHK, CAPI)

ENTRY(e_commit, OP_TXN_COMMIT, tally_get(A0), A1, A0, CAPI)
RETURN(r_commit, OP_TXN_COMMIT, K_COMMIT, CAPI)

ENTRY(e_iter, OP_ITER, 0, 0, 0, CAPI)
RETURN(r_iter, OP_ITER, K_PLAIN, CAPI)

/* C++ entry points, for programs that never call the C API. */
ENTRY(e_cxx_get, OP_GET, 0, 0, 0, CXX)
RETURN(r_cxx_get, OP_GET, K_PLAIN, CXX)
ENTRY(e_cxx_write, OP_WRITE, 0, 0, 0, CXX)
RETURN(r_cxx_write, OP_WRITE, K_PLAIN, CXX)
ENTRY(e_cxx_iter, OP_ITER, 0, 0, 0, CXX)
RETURN(r_cxx_iter, OP_ITER, K_PLAIN, CXX)

/* Background work: C++ only, counted whatever thread runs it. */
ENTRY(e_flush, OP_FLUSH, 0, 0, 0, BG)
RETURN(r_flush, OP_FLUSH, K_PLAIN, BG)
ENTRY(e_compaction, OP_COMPACTION, 0, 0, 0, BG)
RETURN(r_compaction, OP_COMPACTION, K_PLAIN, BG)
ENTRY(e_stall, OP_STALL, 0, 0, 0, BG)
RETURN(r_stall, OP_STALL, K_PLAIN, BG)

/* Byte tallies of transactions and write batches. */
int r_tally_reset(struct pt_regs *ctx)
{
	if (ours(bpf_get_current_pid_tgid()))
		tally_forget(PT_REGS_RC(ctx));
	return 0;
}

int e_tally_reset(struct pt_regs *ctx)
{
	if (ours(bpf_get_current_pid_tgid()))
		tally_forget(A0);
	return 0;
}

#define TALLY(fn, n)							\
	int fn(struct pt_regs *ctx)					\
	{								\
		if (ours(bpf_get_current_pid_tgid()))			\
			tally_add(A0, n);				\
		return 0;						\
	}

TALLY(e_wb_put_cf, A3 + A5)
TALLY(e_wb_put, A2 + A4)
TALLY(e_wb_del_cf, A3)
TALLY(e_wb_del, A2)
TALLY(e_wb_delrange_cf, A3 + A5)
TALLY(e_wb_delrange, A2 + A4)
