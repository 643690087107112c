/* Keyed latency aggregation, for tools whose keys come and go (threads,
 * files, devices, peers, stacks): each key's stats and the buckets of its
 * log-linear histogram (hist.h) live in hash maps, in two generations.
 * User space (src/agg.c) flips the generation every interval, waits until
 * no program is still inside the old one, reads it and empties it: counts
 * are exact, and the maps hold only what one interval saw.
 *
 * The including program defines AGG_KEY, the key type (fixed-width
 * fields, padding explicit and zeroed), and may define AGG_KEYS and
 * AGG_SLOTS (integers) to size the maps.  A program brackets its updates:
 *     u32 gen = agg_begin();
 *     agg_add(gen, &key, value_ns, bytes);
 *     agg_end(gen);
 */
#ifndef CKBTRACE_AGG_BPF_H
#define CKBTRACE_AGG_BPF_H

#include "hist.h"
#include "agg.h"

#ifndef AGG_KEYS
#define AGG_KEYS 4096
#endif
#ifndef AGG_SLOTS
#define AGG_SLOTS 65536
#endif

struct agg_skey {
	u32 gen;
	u32 pad;
	AGG_KEY key;
};

struct agg_hkey {
	u32 gen;
	u32 slot;
	AGG_KEY key;
};

BPF_ARRAY(agg_gen, u32, 1);
BPF_PERCPU_ARRAY(agg_busy, u64, 2);
BPF_PERCPU_ARRAY(agg_drops, u64, AGG_DROP_COUNT);
BPF_HASH(agg_stats, struct agg_skey, struct agg_stats, AGG_KEYS);
BPF_HASH(agg_hist, struct agg_hkey, u64, AGG_SLOTS);

static __always_inline u32 agg_gen_now(void)
{
	u32 z = 0, *g = agg_gen.lookup(&z);

	return g ? (*g & 1) : 0;
}

static __always_inline void agg_busy_add(u32 gen, s64 d)
{
	u64 *b = agg_busy.lookup(&gen);

	if (b)
		__sync_fetch_and_add(b, d);
}

/* Enter the current generation.  The busy count is raised before the
 * generation is read again (a locked add is a full barrier), so user
 * space, which flips first and then waits for the old count to drain,
 * never empties a generation a program is still writing. */
static __always_inline u32 agg_begin(void)
{
	u32 gen = agg_gen_now(), again;

	agg_busy_add(gen, 1);
	again = agg_gen_now();
	if (again != gen) {
		agg_busy_add(gen, -1);
		gen = again;
		agg_busy_add(gen, 1);
	}
	return gen;
}

static __always_inline void agg_end(u32 gen)
{
	agg_busy_add(gen, -1);
}

static __always_inline void agg_drop(u32 why)
{
	u64 *c = agg_drops.lookup(&why);

	if (c)
		(*c)++;
}

/* One measured value v (ns) with its bytes, for key k. */
static __always_inline void agg_add(u32 gen, AGG_KEY *k, u64 v, u64 bytes)
{
	struct agg_stats zero = {}, *s;
	struct agg_skey sk = {};
	struct agg_hkey hk = {};
	u64 one = 1, *c;
	u32 b = hist_bucket(v);

	sk.gen = gen;
	__builtin_memcpy(&sk.key, k, sizeof(sk.key));
	s = agg_stats.lookup(&sk);
	if (!s) {
		agg_stats.insert(&sk, &zero);
		s = agg_stats.lookup(&sk);
	}
	if (!s) {
		agg_drop(AGG_DROP_KEYS);
		return;
	}
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->sum, v);
	if (bytes)
		__sync_fetch_and_add(&s->bytes, bytes);
	if (v > s->max)
		s->max = v;
	hk.gen = gen;
	hk.slot = b < HIST_NBUCKETS ? b : HIST_NBUCKETS - 1;
	__builtin_memcpy(&hk.key, k, sizeof(hk.key));
	c = agg_hist.lookup(&hk);
	if (!c && agg_hist.insert(&hk, &one) == 0)
		return;
	if (!c)
		c = agg_hist.lookup(&hk);
	if (c)
		__sync_fetch_and_add(c, 1);
	else
		agg_drop(AGG_DROP_SLOTS);
}

#endif
