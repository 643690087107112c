/* ckb-disklat: block requests from block:block_rq_insert, _issue and
 * _complete, matched by device and sector, per device and RWBS class.
 * Only tracepoint fields are read (dev, sector, bytes, rwbs, comm): no
 * kernel struct, so any kernel headers do.  Parameters (-D integers):
 *   DEV      0, or the only device (kernel dev_t) counted
 *   QUEUE    1: also time insert -> issue (the scheduler queue)
 *   BY_COMM  1: key by the issuing task's name too
 * The traced PID, when there is one, is config[0] (target.bpf.h): a
 * request counts when that process inserted or issued it. */
#include "target.bpf.h"
#include "disklat.h"
#define AGG_KEY struct disk_key
#include "agg.bpf.h"

#ifndef DEV
#define DEV 0
#endif
#ifndef QUEUE
#define QUEUE 0
#endif
#ifndef BY_COMM
#define BY_COMM 0
#endif

struct rq_val {
	u64 insert_ts;
	u64 issue_ts;
	u64 bytes;
	u32 mine;	/* inserted or issued by the traced process */
	u32 pad;
	char comm[16];
};

BPF_HASH(inflight, struct disk_rq, struct rq_val, 32768);
BPF_PERCPU_ARRAY(disk_drops, u64, DISK_DROP_COUNT);

static __always_inline void disk_drop(u32 why)
{
	u64 *c = disk_drops.lookup(&why);

	if (c)
		(*c)++;
}

/* A request seen at insert (issue == 0) or at issue (issue == 1). */
static __always_inline int rq_seen(u32 dev, u64 sector, u32 nr_sector,
				   u64 bytes, const char *comm, int issue)
{
	struct disk_rq k = { .dev = dev, .sector = sector };
	struct rq_val *v, nv = {};
	u64 now = bpf_ktime_get_ns();
	u32 mine = ours(bpf_get_current_pid_tgid());

	if (DEV && dev != DEV)
		return 0;
	if (!nr_sector)
		k.sector = DISK_FLUSH_SECTOR;
	v = inflight.lookup(&k);
	if (!v) {
		nv.bytes = bytes;
		nv.mine = mine;
		bpf_probe_read_kernel(nv.comm, sizeof(nv.comm), comm);
		if (issue)
			nv.issue_ts = now;
		else
			nv.insert_ts = now;
		if (inflight.update(&k, &nv) != 0)
			disk_drop(DISK_TRACK_FULL);
		return 0;
	}
	v->mine |= mine;
	if (issue)
		v->issue_ts = now;	/* a requeued request: the last issue */
	return 0;
}

TRACEPOINT_PROBE(block, block_rq_insert)
{
	return rq_seen(args->dev, args->sector, args->nr_sector, args->bytes,
		       args->comm, 0);
}

TRACEPOINT_PROBE(block, block_rq_issue)
{
	return rq_seen(args->dev, args->sector, args->nr_sector, args->bytes,
		       args->comm, 1);
}

TRACEPOINT_PROBE(block, block_rq_complete)
{
	struct disk_rq k = { .dev = args->dev, .sector = args->sector };
	struct rq_val *v;
	struct disk_key key = {};
	u64 now = bpf_ktime_get_ns();
	u32 gen;
	char rwbs0 = 0;

	if (DEV && k.dev != DEV)
		return 0;
	if (!args->nr_sector) {
		bpf_probe_read_kernel(&rwbs0, 1, args->rwbs);
		if (rwbs0 != 'F') {
			disk_drop(DISK_EMPTY);
			return 0;
		}
		k.sector = DISK_FLUSH_SECTOR;
	}
	v = inflight.lookup(&k);
	if (!v || !v->issue_ts) {
		disk_drop(DISK_UNMATCHED);
		if (v)
			inflight.delete(&k);
		return 0;
	}
	if (v->mine) {
		key.dev = k.dev;
		bpf_probe_read_kernel(key.rwbs, sizeof(key.rwbs), args->rwbs);
#if BY_COMM
		__builtin_memcpy(key.comm, v->comm, sizeof(key.comm));
#endif
		gen = agg_begin();
		key.what = DISK_DEVICE;
		agg_add(gen, &key, now - v->issue_ts, v->bytes);
#if QUEUE
		if (v->insert_ts && v->issue_ts >= v->insert_ts) {
			key.what = DISK_QUEUE;
			agg_add(gen, &key, v->issue_ts - v->insert_ts, 0);
		}
#endif
		agg_end(gen);
	}
	inflight.delete(&k);
	return 0;
}
