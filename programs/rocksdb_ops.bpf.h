/* The RocksDB operation probes every tool shares: what each entry point
 * captures, how its return turns into a latency and a byte count.  The
 * including program defines op_record(), which receives each finished
 * operation, and may define DEDUP (an integer):
 *   DEDUP        1 when both the C API and the C++ layer are attached: a
 *                C++ entry point reached from inside a C API call on the
 *                same thread is not counted again
 *
 * User memory is read only through bpf_probe_read_user and no kernel
 * struct is touched, so the program is the same on every kernel. */
#include <uapi/linux/ptrace.h>
#include "rdblat.h"
#include "target.bpf.h"

#ifndef DEDUP
#define DEDUP 0
#endif
/* 1: read the error flag of every call, not only of writes */
#ifndef NEED_ERR
#define NEED_ERR 0
#endif

struct start_key {
	u32 tid;
	u32 op;
};

struct start_val {
	u64 ts;
	u64 bytes;
	u64 vlenp;	/* size_t *vallen of a get */
	u64 errpp;	/* char **errptr */
	u64 obj;	/* transaction or batch whose byte tally this call feeds */
	u64 klen;
	u64 cf;		/* rocksdb_column_family_handle_t * */
};

/* What a finished operation hands to the tool. */
struct op_done {
	u64 lat;
	u64 bytes;
	u64 klen;
	u64 cf;
	u32 op;
	u32 known;	/* the op carries a byte count */
	u32 err;	/* *errptr was set on return */
};

static __always_inline void op_record(struct pt_regs *ctx,
				      const struct op_done *d);

BPF_HASH(start, struct start_key, struct start_val, 65536);
BPF_HASH(pending, u64, u64, 65536);
BPF_PERCPU_ARRAY(drops, u64, DROP_COUNT);
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
#define S(n) stack_arg(ctx, n)

#define K_PLAIN 0	/* no byte count */
#define K_BYTES 1	/* bytes as measured at entry */
#define K_PINNED 2	/* bytes = size of the returned PinnableSlice */
#define K_VLEN 3	/* bytes = *vallen when a value came back */
#define K_WRITE 4	/* bytes as at entry, 0 if *errptr was set */
#define K_TALLY 5	/* as K_WRITE, and add them to the txn's tally */
#define K_COMMIT 6	/* as K_WRITE, and the txn's tally starts over */

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
				    u64 vlenp, u64 errpp, u64 obj, u64 klen,
				    u64 cf, int layer)
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
	v.vlenp = vlenp;
	v.errpp = errpp;
	v.obj = obj;
	v.klen = klen;
	v.cf = cf;
	v.ts = bpf_ktime_get_ns();
	if (start.update(&k, &v) != 0)
		drop(DROP_START_FULL);
	return 0;
}

static __always_inline u32 errptr_set(u64 errpp)
{
	u64 err = 0;

	if (errpp)
		bpf_probe_read_user(&err, sizeof(err), (void *)errpp);
	return err != 0;
}

static __always_inline int op_exit(struct pt_regs *ctx, u32 op, int kind,
				   int layer)
{
	u64 now = bpf_ktime_get_ns();
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct start_key k = { .tid = (u32)pid_tgid, .op = op };
	struct start_val *s;
	struct op_done d = {};
	u64 ret;

	/* no ours() here: the kernel fires a return probe only in a process
	 * its entry probe was scoped to */
	if (layer > 0)
		capi_depth(k.tid, -1);
	else if (layer < 0 && capi_depth(k.tid, 0))
		return 0;
	s = start.lookup(&k);
	if (!s) {
		drop(DROP_NO_START);
		return 0;
	}
	d.op = op;
	d.lat = now - s->ts;
	d.bytes = s->bytes;
	d.klen = s->klen;
	d.cf = s->cf;
	if (NEED_ERR || kind >= K_WRITE)
		d.err = errptr_set(s->errpp);
	d.known = kind != K_PLAIN;
	ret = PT_REGS_RC(ctx);
	if (kind == K_PINNED) {
		d.bytes = 0;
		if (ret)
			bpf_probe_read_user(&d.bytes, sizeof(d.bytes),
					    (void *)(ret + 8));
	} else if (kind == K_VLEN) {
		d.bytes = 0;
		if (ret && s->vlenp)
			bpf_probe_read_user(&d.bytes, sizeof(d.bytes),
					    (void *)s->vlenp);
	} else if (kind >= K_WRITE) {
		if (d.err)
			d.bytes = 0;
		if (kind == K_TALLY && d.bytes)
			tally_add(s->obj, d.bytes);
		if (kind == K_COMMIT)
			tally_forget(s->obj);
	} else if (kind == K_PLAIN) {
		d.bytes = 0;
	}
	start.delete(&k);
	op_record(ctx, &d);
	return 0;
}

#define CAPI 1
#define CXX (-1)
#define BG 0

/* ENTRY(program, op, bytes, vallen ptr, errptr, tally object, key length,
 * column family handle, layer) */
#define ENTRY(fn, op, bytes, vlenp, errpp, obj, klen, cf, layer)	\
	int fn(struct pt_regs *ctx)					\
	{								\
		return op_enter(ctx, op, bytes, vlenp, errpp, obj, klen, \
				cf, layer);				\
	}
#define RETURN(fn, op, kind, layer)					\
	int fn(struct pt_regs *ctx)					\
	{								\
		return op_exit(ctx, op, kind, layer);			\
	}

/* C API: argument positions follow rocksdb/c.h. */
ENTRY(e_get_pinned_cf, OP_GET, 0, 0, A5, 0, A4, A2, CAPI)
ENTRY(e_get_pinned, OP_GET, 0, 0, A4, 0, A3, 0, CAPI)
ENTRY(e_get_cf, OP_GET, 0, A5, S(0), 0, A4, A2, CAPI)
ENTRY(e_get, OP_GET, 0, A4, A5, 0, A3, 0, CAPI)
RETURN(r_get_pinned, OP_GET, K_PINNED, CAPI)
RETURN(r_get_vl, OP_GET, K_VLEN, CAPI)

ENTRY(e_tget_pinned_cf, OP_TXN_GET, 0, 0, A5, 0, A4, A2, CAPI)
ENTRY(e_tget_pinned, OP_TXN_GET, 0, 0, A4, 0, A3, 0, CAPI)
ENTRY(e_tget_pinned_fu_cf, OP_TXN_GET, 0, 0, S(0), 0, A4, A2, CAPI)
ENTRY(e_tget_pinned_fu, OP_TXN_GET, 0, 0, A5, 0, A3, 0, CAPI)
ENTRY(e_tget_fu_cf, OP_TXN_GET, 0, A5, S(1), 0, A4, A2, CAPI)
ENTRY(e_tget_cf, OP_TXN_GET, 0, A5, S(0), 0, A4, A2, CAPI)
ENTRY(e_tget_fu, OP_TXN_GET, 0, A4, S(0), 0, A3, 0, CAPI)
ENTRY(e_tget, OP_TXN_GET, 0, A4, A5, 0, A3, 0, CAPI)
RETURN(r_tget_pinned, OP_TXN_GET, K_PINNED, CAPI)
RETURN(r_tget_vl, OP_TXN_GET, K_VLEN, CAPI)

ENTRY(e_put_cf, OP_PUT, A4 + S(0), 0, S(1), 0, A4, A2, CAPI)
ENTRY(e_put, OP_PUT, A3 + A5, 0, S(0), 0, A3, 0, CAPI)
RETURN(r_put, OP_PUT, K_WRITE, CAPI)

ENTRY(e_tput_cf, OP_TXN_PUT, A3 + A5, 0, S(0), A0, A3, A1, CAPI)
ENTRY(e_tput, OP_TXN_PUT, A2 + A4, 0, A5, A0, A2, 0, CAPI)
RETURN(r_tput, OP_TXN_PUT, K_TALLY, CAPI)

ENTRY(e_del_cf, OP_DELETE, A4, 0, A5, 0, A4, A2, CAPI)
ENTRY(e_del, OP_DELETE, A3, 0, A4, 0, A3, 0, CAPI)
RETURN(r_del, OP_DELETE, K_WRITE, CAPI)

ENTRY(e_tdel_cf, OP_TXN_DELETE, A3, 0, A4, A0, A3, A1, CAPI)
ENTRY(e_tdel, OP_TXN_DELETE, A2, 0, A3, A0, A2, 0, CAPI)
RETURN(r_tdel, OP_TXN_DELETE, K_TALLY, CAPI)

ENTRY(e_write, OP_WRITE, tally_get(A2), 0, A3, 0, 0, 0, CAPI)
RETURN(r_write, OP_WRITE, K_WRITE, CAPI)

ENTRY(e_commit, OP_TXN_COMMIT, tally_get(A0), 0, A1, A0, 0, 0, CAPI)
RETURN(r_commit, OP_TXN_COMMIT, K_COMMIT, CAPI)

ENTRY(e_iter, OP_ITER, 0, 0, 0, 0, 0, 0, CAPI)
ENTRY(e_iter_cf, OP_ITER, 0, 0, 0, 0, 0, A2, CAPI)
ENTRY(e_iter_seek, OP_ITER, 0, 0, 0, 0, A2, 0, CAPI)
RETURN(r_iter, OP_ITER, K_PLAIN, CAPI)

/* C++ entry points, for programs that never call the C API. */
ENTRY(e_cxx_get, OP_GET, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_get, OP_GET, K_PLAIN, CXX)
ENTRY(e_cxx_write, OP_WRITE, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_write, OP_WRITE, K_PLAIN, CXX)
ENTRY(e_cxx_iter, OP_ITER, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_iter, OP_ITER, K_PLAIN, CXX)

/* Background work: C++ only, counted whatever thread runs it. */
ENTRY(e_flush, OP_FLUSH, 0, 0, 0, 0, 0, 0, BG)
RETURN(r_flush, OP_FLUSH, K_PLAIN, BG)
ENTRY(e_compaction, OP_COMPACTION, 0, 0, 0, 0, 0, 0, BG)
RETURN(r_compaction, OP_COMPACTION, K_PLAIN, BG)
ENTRY(e_stall, OP_STALL, 0, 0, 0, 0, 0, 0, BG)
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
