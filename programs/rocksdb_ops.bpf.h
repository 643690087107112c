/* The RocksDB operation probes every tool shares: what each entry point
 * captures, how its return turns into a latency, a byte count and an
 * outcome (hit, miss, error).  The including program defines op_record(),
 * which receives each finished operation, and may define DEDUP (an
 * integer):
 *   DEDUP        1 when entry points of one operation can nest on a thread
 *                (the C API above the C++ layer, a transaction above the
 *                DB calls it makes, a transaction's iterator above the
 *                DB's): only the outermost call on the thread is counted
 *
 * The C++ layer returns rocksdb::Status by value: the caller passes a
 * hidden pointer to it in the first argument register, the callee hands
 * it back in %rax, and the Status starts with its one-byte code (0 OK,
 * 1 NotFound), in every RocksDB from 6.0 to 8.x.  So at a C++ entry the
 * object (`this`) is the second argument and the real arguments follow.
 *
 * User memory is read only through bpf_probe_read_user and no kernel
 * struct is touched, so the program is the same on every kernel. */
#include <uapi/linux/ptrace.h>
#include "rdblat.h"
#include "target.bpf.h"

#ifndef DEDUP
#define DEDUP 0
#endif

/* In-flight keys besides the operation ids. */
#define KEY_ACC (OP_COUNT + 1)		/* an iterator's key() or value() */
#define KEY_FILEINFO (OP_COUNT + 2)	/* a file of an ingest being read */

/* What happened inside DBImpl::DelayWrite, in start_val.flags. */
#define STALL_ASKED 1		/* WriteController::GetDelay asked for a delay */
#define STALL_WAITED 2		/* waited on the DB's condition: writes stopped */
/* A delayed write sleeps 1001 us at least (kDelayInterval); a call that
 * was asked to delay but returned sooner did not wait. */
#define STALL_MIN_NS 1000000

/* rocksdb::IngestedFileInfo::file_size, after three std::string-sized
 * members and two 8-byte ones (6.0 to 8.x, libstdc++'s C++11 string) */
#define FILEINFO_SIZE_OFF 112

struct start_key {
	u32 tid;
	u32 op;
};

struct start_val {
	u64 ts;
	u64 bytes;
	u64 vlenp;	/* where the value's size is read on return */
	u64 errpp;	/* char **errptr */
	u64 obj;	/* transaction or batch whose byte tally this call feeds */
	u64 klen;
	u64 cf;		/* rocksdb_column_family_handle_t * */
	u64 items;	/* files of an ingest */
	u64 flags;	/* STALL_* */
};

/* What a finished operation hands to the tool. */
struct op_done {
	u64 lat;
	u64 bytes;
	u64 klen;
	u64 cf;
	u64 items;
	u32 op;
	u32 known;	/* the op carries a byte count */
	u32 err;	/* it failed (outcome == OUT_ERROR) */
	u32 outcome;	/* OUT_* */
	u32 bytes_only;	/* not an operation: bytes read through an iterator */
};

static __always_inline void op_record(struct pt_regs *ctx,
				      const struct op_done *d);

/* Calls in flight, per thread: a few slots, each tagged with its op.
 * Only the thread itself touches its record, so an entry and its return
 * are one lookup each, with no map update or delete (a hash update or
 * delete takes a bucket lock and a free-list round trip: the largest
 * cost above the uprobe itself).  The record stays for the thread's next
 * calls; LRU drops the records of threads that went away. */
#define START_SLOTS 4
struct start_slot {
	u32 op;
	u32 busy;
	struct start_val v;
};
struct start_rec {
	struct start_slot s[START_SLOTS];
};
BPF_TABLE("lru_hash", u32, struct start_rec, start, 16384);
BPF_PERCPU_ARRAY(start_zero, struct start_rec, 1);
BPF_HASH(pending, u64, u64, 65536);
BPF_PERCPU_ARRAY(drops, u64, DROP_COUNT);
#if DEDUP
BPF_HASH(nest, u32, u32, 65536);
#endif

#define A0 PT_REGS_PARM1(ctx)
#define A1 PT_REGS_PARM2(ctx)
#define A2 PT_REGS_PARM3(ctx)
#define A3 PT_REGS_PARM4(ctx)
#define A4 PT_REGS_PARM5(ctx)
#define A5 PT_REGS_PARM6(ctx)
/* Argument 6 + n of a call, on the stack above the return address. */
#define S(n) stack_arg(ctx, n)
/* The size of a rocksdb::Slice (or PinnableSlice, or C++11 std::string)
 * passed by pointer: the word after the data pointer. */
#define SZ(p) word_at((p) + 8)

/* How a return turns into bytes and an outcome. */
#define K_PLAIN 0	/* neither */
#define K_PINNED 1	/* C API read: the returned PinnableSlice's size */
#define K_VLEN 2	/* C API read: *vallen when a value came back */
#define K_WRITE 3	/* C API write: bytes as at entry, 0 on error */
#define K_TALLY 4	/* as K_WRITE, and add them to the txn's tally */
#define K_COMMIT 5	/* as K_WRITE, and the txn's tally starts over */
#define K_ROLLBACK 6	/* C API: the outcome, and the tally starts over */
#define K_INGEST 7	/* C API: the files and bytes the ingest read */
#define K_S_READ 8	/* C++ read: Status code, value size on a hit */
#define K_S_WRITE 9	/* C++ write: Status code, bytes as at entry */
#define K_S_TALLY 10	/* as K_S_WRITE, and add them to the txn's tally */
#define K_S_COMMIT 11	/* as K_S_WRITE, and the tally starts over */
#define K_S_ROLLBACK 12	/* the Status, and the tally starts over */
#define K_S_PLAIN 13	/* the Status only */
#define K_S_INGEST 14	/* the Status, the files and bytes the ingest read */

/* Where the entry point sits. */
#define CAPI 1		/* foreground, C API */
#define CXX 2		/* foreground, C++ */
#define BG 0		/* background work and stalls: never nested */

static __always_inline void drop(u32 why)
{
	u64 *c = drops.lookup(&why);

	if (c)
		(*c)++;
}

static __always_inline u64 word_at(u64 addr)
{
	u64 v = 0;

	if (addr)
		bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}

static __always_inline u64 stack_arg(struct pt_regs *ctx, u32 n)
{
	return word_at(PT_REGS_SP(ctx) + 8 * (n + 1));
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

/* The depth of foreground calls on a thread before this one (entry), or
 * after it (return); 0 means outermost.  Without DEDUP every call is. */
static __always_inline u32 nest_enter(u32 tid)
{
#if DEDUP
	u32 *d = nest.lookup(&tid);
	u32 one = 1;

	if (d)
		return (*d)++;
	nest.update(&tid, &one);
#endif
	return 0;
}

static __always_inline u32 nest_exit(u32 tid)
{
#if DEDUP
	u32 *d = nest.lookup(&tid);

	if (!d || !*d)
		return 0;
	(*d)--;
	return *d;
#else
	return 0;
#endif
}

/* Record the entry of op on thread tid: the slot of the same op (a call
 * whose return was never seen), else a free one, else the oldest. */
static __always_inline void start_put(u32 tid, u32 op,
				      const struct start_val *v)
{
	struct start_rec *r = start.lookup(&tid);
	u32 zero = 0, i, pick = 0;
	u64 oldest = ~0ull;

	if (!r) {
		r = start_zero.lookup(&zero);
		if (!r || start.update(&tid, r) != 0) {
			drop(DROP_START_FULL);
			return;
		}
		r = start.lookup(&tid);
		if (!r) {
			drop(DROP_START_FULL);
			return;
		}
	}
#pragma unroll
	for (i = 0; i < START_SLOTS; i++) {
		if (r->s[i].busy && r->s[i].op == op) {
			pick = i;
			oldest = 0;
			break;
		}
		if (!r->s[i].busy && oldest) {
			pick = i;
			oldest = 0;
		} else if (r->s[i].busy && r->s[i].v.ts < oldest) {
			pick = i;
			oldest = r->s[i].v.ts;
		}
	}
	if (pick >= START_SLOTS)
		return;
	r->s[pick].v = *v;
	r->s[pick].op = op;
	r->s[pick].busy = 1;
}

/* The slot of the call to op in flight on thread tid, or NULL. */
static __always_inline struct start_slot *start_get(u32 tid, u32 op)
{
	struct start_rec *r = start.lookup(&tid);
	u32 i;

	if (!r)
		return NULL;
#pragma unroll
	for (i = 0; i < START_SLOTS; i++)
		if (r->s[i].busy && r->s[i].op == op)
			return &r->s[i];
	return NULL;
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
	if (layer != BG && nest_enter(k.tid))
		return 0;
	v.bytes = bytes;
	v.vlenp = vlenp;
	v.errpp = errpp;
	v.obj = obj;
	v.klen = klen;
	v.cf = cf;
	v.ts = bpf_ktime_get_ns();
	start_put(k.tid, op, &v);
	return 0;
}

static __always_inline u32 errptr_set(u64 errpp)
{
	return word_at(errpp) != 0;
}

/* The outcome of a returned rocksdb::Status: its code byte. */
static __always_inline u32 status_outcome(struct pt_regs *ctx, int read)
{
	u8 code = 0;

	if (bpf_probe_read_user(&code, sizeof(code),
				(void *)PT_REGS_RC(ctx)) != 0)
		return OUT_NONE;
	if (code == 0)
		return OUT_OK;
	return read && code == 1 ? OUT_MISS : OUT_ERROR;
}

static __always_inline int op_exit(struct pt_regs *ctx, u32 op, int kind,
				   int layer)
{
	u64 now = bpf_ktime_get_ns();
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct start_key k = { .tid = (u32)pid_tgid, .op = op };
	struct start_slot *slot;
	struct start_val *s;
	struct op_done d = {};
	u64 ret = PT_REGS_RC(ctx);

	/* no ours() here: the kernel fires a return probe only in a process
	 * its entry probe was scoped to */
	if (layer != BG && nest_exit(k.tid))
		return 0;
	slot = start_get(k.tid, op);
	if (!slot) {
		drop(DROP_NO_START);
		return 0;
	}
	s = &slot->v;
	d.op = op;
	d.lat = now - s->ts;
	d.klen = s->klen;
	d.cf = s->cf;
	d.items = s->items;
	d.known = 1;
	switch (kind) {
	case K_PINNED:
	case K_VLEN:
		if (errptr_set(s->errpp))
			d.outcome = OUT_ERROR;
		else
			d.outcome = ret ? OUT_OK : OUT_MISS;
		if (d.outcome == OUT_OK)
			d.bytes = word_at(kind == K_PINNED ? ret + 8 :
							     s->vlenp);
		break;
	case K_WRITE:
	case K_TALLY:
	case K_COMMIT:
		d.outcome = errptr_set(s->errpp) ? OUT_ERROR : OUT_OK;
		break;
	case K_ROLLBACK:
		d.outcome = errptr_set(s->errpp) ? OUT_ERROR : OUT_OK;
		d.known = 0;
		break;
	case K_INGEST:
		d.outcome = errptr_set(s->errpp) ? OUT_ERROR : OUT_OK;
		break;
	case K_S_READ:
		d.outcome = status_outcome(ctx, 1);
		d.known = s->vlenp != 0;
		if (d.outcome == OUT_OK)
			d.bytes = SZ(s->vlenp);
		break;
	case K_S_WRITE:
	case K_S_TALLY:
	case K_S_COMMIT:
	case K_S_INGEST:
		d.outcome = status_outcome(ctx, 0);
		break;
	case K_S_ROLLBACK:
	case K_S_PLAIN:
		d.outcome = status_outcome(ctx, 0);
		d.known = 0;
		break;
	default:
		d.known = 0;
		break;
	}
	switch (kind) {
	case K_WRITE:
	case K_TALLY:
	case K_COMMIT:
	case K_S_WRITE:
	case K_S_TALLY:
	case K_S_COMMIT:
		if (d.outcome != OUT_ERROR)
			d.bytes = s->bytes;
		if ((kind == K_TALLY || kind == K_S_TALLY) && d.bytes)
			tally_add(s->obj, d.bytes);
		if (kind == K_COMMIT || kind == K_S_COMMIT)
			tally_forget(s->obj);
		break;
	case K_ROLLBACK:
	case K_S_ROLLBACK:
		tally_forget(s->obj);
		break;
	case K_INGEST:
	case K_S_INGEST:
		/* the files' sizes come from GetIngestedFileInfo probes */
		d.bytes = s->bytes;
		d.known = s->items != 0;
		break;
	}
	d.err = d.outcome == OUT_ERROR;
	slot->busy = 0;
	op_record(ctx, &d);
	return 0;
}

/* ENTRY(program, op, bytes, value size pointer, errptr, tally object, key
 * length, column family handle, layer) */
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

/* ---- C API: argument positions follow rocksdb/c.h ---- */
ENTRY(e_get_pinned_cf, OP_GET, 0, 0, A5, 0, A4, A2, CAPI)
ENTRY(e_get_pinned, OP_GET, 0, 0, A4, 0, A3, 0, CAPI)
ENTRY(e_get_cf, OP_GET, 0, A5, S(0), 0, A4, A2, CAPI)
ENTRY(e_get, OP_GET, 0, A4, A5, 0, A3, 0, CAPI)
RETURN(r_get_pinned, OP_GET, K_PINNED, CAPI)
RETURN(r_get_vl, OP_GET, K_VLEN, CAPI)

ENTRY(e_tget_pinned_cf, OP_TXN_GET, 0, 0, A5, 0, A4, A2, CAPI)
ENTRY(e_tget_pinned, OP_TXN_GET, 0, 0, A4, 0, A3, 0, CAPI)
ENTRY(e_tget_cf, OP_TXN_GET, 0, A5, S(0), 0, A4, A2, CAPI)
ENTRY(e_tget, OP_TXN_GET, 0, A4, A5, 0, A3, 0, CAPI)
RETURN(r_tget_pinned, OP_TXN_GET, K_PINNED, CAPI)
RETURN(r_tget_vl, OP_TXN_GET, K_VLEN, CAPI)

ENTRY(e_tgetfu_pinned_cf, OP_TXN_GET_FOR_UPDATE, 0, 0, S(0), 0, A4, A2, CAPI)
ENTRY(e_tgetfu_pinned, OP_TXN_GET_FOR_UPDATE, 0, 0, A5, 0, A3, 0, CAPI)
ENTRY(e_tgetfu_cf, OP_TXN_GET_FOR_UPDATE, 0, A5, S(1), 0, A4, A2, CAPI)
ENTRY(e_tgetfu, OP_TXN_GET_FOR_UPDATE, 0, A4, S(0), 0, A3, 0, CAPI)
RETURN(r_tgetfu_pinned, OP_TXN_GET_FOR_UPDATE, K_PINNED, CAPI)
RETURN(r_tgetfu_vl, OP_TXN_GET_FOR_UPDATE, K_VLEN, CAPI)

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

ENTRY(e_rollback, OP_TXN_ROLLBACK, 0, 0, A1, A0, 0, 0, CAPI)
RETURN(r_rollback, OP_TXN_ROLLBACK, K_ROLLBACK, CAPI)

ENTRY(e_iter, OP_ITER, 0, 0, 0, 0, 0, 0, CAPI)
ENTRY(e_iter_cf, OP_ITER, 0, 0, 0, 0, 0, A2, CAPI)
RETURN(r_iter, OP_ITER, K_PLAIN, CAPI)

ENTRY(e_seek, OP_ITER_SEEK, 0, 0, 0, 0, A2, 0, CAPI)
ENTRY(e_seek_end, OP_ITER_SEEK, 0, 0, 0, 0, 0, 0, CAPI)
RETURN(r_seek, OP_ITER_SEEK, K_PLAIN, CAPI)

ENTRY(e_next, OP_ITER_NEXT, 0, 0, 0, 0, 0, 0, CAPI)
RETURN(r_next, OP_ITER_NEXT, K_PLAIN, CAPI)

ENTRY(e_ingest, OP_INGEST, 0, 0, A4, 0, 0, 0, CAPI)
ENTRY(e_ingest_cf, OP_INGEST, 0, 0, A5, 0, 0, A1, CAPI)
RETURN(r_ingest, OP_INGEST, K_INGEST, CAPI)

/* ---- C++: the hidden Status pointer first, then `this` ---- */
/* DBImpl::GetImpl(ReadOptions const&, Slice const& key, GetImplOptions&),
 * whose second member is the PinnableSlice* value (6.5 to 8.x) */
ENTRY(e_cxx_get_opts, OP_GET, 0, word_at(A4 + 8), 0, 0, SZ(A3), 0, CXX)
/* DBImpl::GetImpl(ReadOptions const&, ColumnFamilyHandle*, Slice const&,
 * PinnableSlice*) (6.0 to 6.4, and the outer one of 8.x) */
ENTRY(e_cxx_get_cf, OP_GET, 0, A5, 0, 0, SZ(A4), 0, CXX)
ENTRY(e_cxx_get, OP_GET, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_get, OP_GET, K_S_READ, CXX)

/* Transaction reads: (ReadOptions const&, ColumnFamilyHandle*, Slice const&
 * key, PinnableSlice* or std::string* value, ...) */
ENTRY(e_cxx_tget, OP_TXN_GET, 0, A5, 0, 0, SZ(A4), 0, CXX)
RETURN(r_cxx_tget, OP_TXN_GET, K_S_READ, CXX)
ENTRY(e_cxx_tgetfu, OP_TXN_GET_FOR_UPDATE, 0, A5, 0, 0, SZ(A4), 0, CXX)
RETURN(r_cxx_tgetfu, OP_TXN_GET_FOR_UPDATE, K_S_READ, CXX)

/* DB writes: (WriteOptions const&, ColumnFamilyHandle*, Slice const& key
 * [, Slice const& value]) */
ENTRY(e_cxx_put, OP_PUT, SZ(A4) + SZ(A5), 0, 0, 0, SZ(A4), 0, CXX)
RETURN(r_cxx_put, OP_PUT, K_S_WRITE, CXX)
ENTRY(e_cxx_del, OP_DELETE, SZ(A4), 0, 0, 0, SZ(A4), 0, CXX)
RETURN(r_cxx_del, OP_DELETE, K_S_WRITE, CXX)
ENTRY(e_cxx_write, OP_WRITE, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_write, OP_WRITE, K_S_PLAIN, CXX)

/* Transaction writes: (ColumnFamilyHandle*, Slice const& key [, Slice
 * const& value], ...), tallied on the transaction */
ENTRY(e_cxx_tput, OP_TXN_PUT, SZ(A3) + SZ(A4), 0, 0, A1, SZ(A3), 0, CXX)
RETURN(r_cxx_tput, OP_TXN_PUT, K_S_TALLY, CXX)
ENTRY(e_cxx_tdel, OP_TXN_DELETE, SZ(A3), 0, 0, A1, SZ(A3), 0, CXX)
RETURN(r_cxx_tdel, OP_TXN_DELETE, K_S_TALLY, CXX)
ENTRY(e_cxx_commit, OP_TXN_COMMIT, tally_get(A1), 0, 0, A1, 0, 0, CXX)
RETURN(r_cxx_commit, OP_TXN_COMMIT, K_S_COMMIT, CXX)
ENTRY(e_cxx_rollback, OP_TXN_ROLLBACK, 0, 0, 0, A1, 0, 0, CXX)
RETURN(r_cxx_rollback, OP_TXN_ROLLBACK, K_S_ROLLBACK, CXX)

/* Iterators return a pointer, positioning returns nothing: `this` first */
ENTRY(e_cxx_iter, OP_ITER, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_iter, OP_ITER, K_PLAIN, CXX)
ENTRY(e_cxx_seek, OP_ITER_SEEK, 0, 0, 0, 0, SZ(A1), 0, CXX)
ENTRY(e_cxx_seek_end, OP_ITER_SEEK, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_seek, OP_ITER_SEEK, K_PLAIN, CXX)
ENTRY(e_cxx_next, OP_ITER_NEXT, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_next, OP_ITER_NEXT, K_PLAIN, CXX)

ENTRY(e_cxx_ingest, OP_INGEST, 0, 0, 0, 0, 0, 0, CXX)
RETURN(r_cxx_ingest, OP_INGEST, K_S_INGEST, CXX)

/* ---- background work: counted whatever thread runs it ---- */
ENTRY(e_flush, OP_FLUSH, 0, 0, 0, 0, 0, 0, BG)
RETURN(r_flush, OP_FLUSH, K_S_PLAIN, BG)
ENTRY(e_compaction, OP_COMPACTION, 0, 0, 0, 0, 0, 0, BG)
RETURN(r_compaction, OP_COMPACTION, K_S_PLAIN, BG)

/* ---- write stalls: DBImpl::DelayWrite is called whenever the write
 * controller has a delay or a stop in force; it is a stall only when the
 * write slept (GetDelay asked for a delay and the call took at least
 * kDelayInterval) or waited for the stop to end (InstrumentedCondVar::
 * Wait on the writing thread) ---- */
ENTRY(e_stall, OP_STALL_DELAY, 0, 0, 0, 0, 0, 0, BG)

static __always_inline struct start_val *stall_of(u64 pid_tgid)
{
	struct start_slot *sl = start_get((u32)pid_tgid, OP_STALL_DELAY);

	return sl ? &sl->v : NULL;
}

int r_stall_asked(struct pt_regs *ctx)
{
	struct start_val *s;

	if (PT_REGS_RC(ctx) && (s = stall_of(bpf_get_current_pid_tgid())))
		s->flags |= STALL_ASKED;
	return 0;
}

int e_stall_wait(struct pt_regs *ctx)
{
	struct start_val *s = stall_of(bpf_get_current_pid_tgid());

	if (s)
		s->flags |= STALL_WAITED;
	return 0;
}

int r_stall(struct pt_regs *ctx)
{
	u64 now = bpf_ktime_get_ns();
	struct start_slot *sl = start_get((u32)bpf_get_current_pid_tgid(),
					  OP_STALL_DELAY);
	struct start_val *s;
	struct op_done d = {};

	if (!sl) {
		drop(DROP_NO_START);
		return 0;
	}
	s = &sl->v;
	d.lat = now - s->ts;
	if (s->flags & STALL_WAITED)
		d.op = OP_STALL_STOP;
	else if ((s->flags & STALL_ASKED) && d.lat >= STALL_MIN_NS)
		d.op = OP_STALL_DELAY;
	else
		d.op = OP_COUNT;
	sl->busy = 0;
	if (d.op == OP_COUNT)
		return 0;
	d.outcome = status_outcome(ctx, 0);
	d.err = d.outcome == OUT_ERROR;
	op_record(ctx, &d);
	return 0;
}

/* ---- bytes read through iterators: key() and value() ---- */
static __always_inline int acc_enter(struct pt_regs *ctx, u64 lenp)
{
	return op_enter(ctx, KEY_ACC, 0, lenp, 0, 0, 0, 0,
			lenp ? CAPI : CXX);
}

static __always_inline int acc_exit(struct pt_regs *ctx, int cxx, int key)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct start_slot *sl;
	struct start_val *s;
	struct op_done d = {};

	if (nest_exit(tid))
		return 0;
	sl = start_get(tid, KEY_ACC);
	if (!sl)
		return 0;
	s = &sl->v;
	/* a C++ accessor returns the Slice in %rax:%rdx */
	d.bytes = cxx ? ctx->dx : word_at(s->vlenp);
	d.items = key;
	d.op = OP_ITER_NEXT;
	d.known = 1;
	d.bytes_only = 1;
	sl->busy = 0;
	op_record(ctx, &d);
	return 0;
}

int e_acc_capi(struct pt_regs *ctx) { return acc_enter(ctx, A1); }
int e_acc_cxx(struct pt_regs *ctx) { return acc_enter(ctx, 0); }
int r_key_capi(struct pt_regs *ctx) { return acc_exit(ctx, 0, 1); }
int r_value_capi(struct pt_regs *ctx) { return acc_exit(ctx, 0, 0); }
int r_key_cxx(struct pt_regs *ctx) { return acc_exit(ctx, 1, 1); }
int r_value_cxx(struct pt_regs *ctx) { return acc_exit(ctx, 1, 0); }

/* ---- the files of an ingest: ExternalSstFileIngestionJob::
 * GetIngestedFileInfo(file, [new_file_number,] IngestedFileInfo*, sv) ---- */
static __always_inline int fileinfo_enter(struct pt_regs *ctx, u64 info)
{
	u64 pid_tgid = bpf_get_current_pid_tgid();
	struct start_val v = { .obj = info };

	if (ours(pid_tgid))
		start_put((u32)pid_tgid, KEY_FILEINFO, &v);
	return 0;
}

int e_fileinfo4(struct pt_regs *ctx) { return fileinfo_enter(ctx, A4); }
int e_fileinfo3(struct pt_regs *ctx) { return fileinfo_enter(ctx, A3); }

int r_fileinfo(struct pt_regs *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct start_slot *fs = start_get(tid, KEY_FILEINFO);
	struct start_slot *is = start_get(tid, OP_INGEST);

	if (!fs)
		return 0;
	if (is && status_outcome(ctx, 0) == OUT_OK) {
		is->v.bytes += word_at(fs->v.obj + FILEINFO_SIZE_OFF);
		is->v.items++;
	}
	fs->busy = 0;
	return 0;
}

/* ---- byte tallies of transactions and write batches ---- */
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
