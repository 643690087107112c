/* ckb-rdblat: per-operation RocksDB latency histograms.  The probes are in
 * rocksdb_ops.bpf.h; this file only aggregates what they measure. */
#include "rocksdb_ops.bpf.h"

BPF_PERCPU_ARRAY(hist, struct op_hist, OP_COUNT);
BPF_PERCPU_ARRAY(maxv, u64, OP_COUNT);

static __always_inline void op_record(struct pt_regs *ctx,
				      const struct op_done *d)
{
	u32 op = d->op, b, o = d->outcome;
	struct op_hist *h = hist.lookup(&op);
	u64 *m;

	if (!h)
		return;
	h->items += d->items;
	h->bytes += d->bytes;
	h->bytes_known += d->known;
	if (d->bytes_only)
		return;
	h->count++;
	h->sum_ns += d->lat;
	if (o < 4)
		h->outcome[o]++;
	b = hist_bucket(d->lat);
	if (b < HIST_NBUCKETS)
		h->slot[b]++;
	m = maxv.lookup(&op);
	if (m && d->lat > *m)
		*m = d->lat;
}
