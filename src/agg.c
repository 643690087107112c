#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../programs/hist.h"
#include "agg.h"
#include "bpfsys.h"
#include "util.h"

enum { M_GEN, M_BUSY, M_DROPS, M_STATS, M_HIST, NM };
static const char *const names[NM] = {
	"agg_gen", "agg_busy", "agg_drops", "agg_stats", "agg_hist",
};

/* Map keys start with the generation (u32), then a u32 (padding, or the
 * histogram slot), then the tool's key. */
#define KEY_OFF 8

/* The elements of one generation, each its map key then its value. */
struct buf {
	char *p;
	size_t n, cap;
	size_t ksz, vsz;
	uint32_t gen;
};

struct agg {
	int fds[NM];
	uint32_t gen;
	uint64_t unsettled;
	struct buf stats, hist;
	uint64_t *slot;		/* HIST_NBUCKETS, all 0 between keys */
};

int agg_open(struct agg **out, const struct run *r)
{
	struct agg *a = calloc(1, sizeof(*a));
	uint32_t ksz, vsz, hksz, hvsz;
	int err;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	err = run_maps(r, names, NM, a->fds);
	if (!err)
		err = bpf_map_sizes(a->fds[M_STATS], &ksz, &vsz);
	if (!err)
		err = bpf_map_sizes(a->fds[M_HIST], &hksz, &hvsz);
	if (!err && (hksz != ksz || ksz <= KEY_OFF ||
		     vsz != sizeof(struct agg_stats) ||
		     hvsz != sizeof(uint64_t)))
		err = -EINVAL;
	a->slot = err ? NULL : calloc(HIST_NBUCKETS, sizeof(*a->slot));
	if (!err && !a->slot)
		err = -ENOMEM;
	if (err) {
		if (err != -ENOENT)
			msg("cannot set up the aggregation maps: %s",
			    strerror(-err));
		agg_free(a);
		return err;
	}
	a->stats.ksz = ksz;
	a->stats.vsz = vsz;
	a->hist.ksz = hksz;
	a->hist.vsz = hvsz;
	*out = a;
	return 0;
}

/* Keep the elements of the generation being closed. */
static int push(const void *key, const void *value, void *arg)
{
	struct buf *b = arg;
	size_t esz = b->ksz + b->vsz;
	uint32_t gen;
	char *p;

	memcpy(&gen, key, sizeof(gen));
	if (gen != b->gen)
		return 0;
	if (b->n == b->cap) {
		p = realloc(b->p, (b->cap ? b->cap * 2 : 256) * esz);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = b->cap ? b->cap * 2 : 256;
	}
	memcpy(b->p + b->n * esz, key, b->ksz);
	memcpy(b->p + b->n * esz + b->ksz, value, b->vsz);
	b->n++;
	return 0;
}

/* Read one generation of a map, then delete what was read. */
static int take(int fd, struct buf *b, uint32_t gen)
{
	size_t esz = b->ksz + b->vsz, i;
	char *keys;
	int err;

	b->n = 0;
	b->gen = gen;
	err = bpf_map_dump(fd, push, b);
	if (err || !b->n)
		return err;
	keys = malloc(b->n * b->ksz);
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < b->n; i++)
		memcpy(keys + i * b->ksz, b->p + i * esz, b->ksz);
	err = bpf_map_del_keys(fd, keys, (uint32_t)b->ksz, (uint32_t)b->n);
	free(keys);
	return err;
}

static size_t sort_ksz;

/* By the tool's key. */
static int by_key(const void *x, const void *y)
{
	return memcmp((const char *)x + KEY_OFF, (const char *)y + KEY_OFF,
		      sort_ksz);
}

static uint64_t busy(struct agg *a, uint32_t gen)
{
	uint64_t n = 0;

	bpf_map_sum_u64(a->fds[M_BUSY], &gen, &n);
	return n;
}

/* Flip the generation and wait until the old one has no writer. */
static int flip(struct agg *a)
{
	struct timespec ms = { 0, 1000000 };
	uint32_t z = 0, old = a->gen, next = a->gen ^ 1;
	int i, err;

	err = bpf_map_set(a->fds[M_GEN], &z, &next);
	if (err)
		return err;
	a->gen = next;
	for (i = 0; i < 1000; i++) {
		nanosleep(&ms, NULL);
		if (busy(a, old) == 0)
			return 0;
	}
	a->unsettled++;
	return 0;
}

int agg_collect(struct agg *a, agg_fn fn, void *arg)
{
	uint32_t old = a->gen, slot;
	size_t se = a->stats.ksz + a->stats.vsz, he = a->hist.ksz + a->hist.vsz;
	size_t ksz = a->stats.ksz - KEY_OFF, i, h = 0, first;
	struct agg_stats st;
	const char *k;
	uint64_t c;
	int err;

	err = flip(a);
	if (!err)
		err = take(a->fds[M_STATS], &a->stats, old);
	if (!err)
		err = take(a->fds[M_HIST], &a->hist, old);
	if (err)
		return err;
	sort_ksz = ksz;
	/* an interval with nothing seen: p is NULL, which qsort() must
	 * not get */
	if (a->stats.n > 1)
		qsort(a->stats.p, a->stats.n, se, by_key);
	if (a->hist.n > 1)
		qsort(a->hist.p, a->hist.n, he, by_key);
	for (i = 0; i < a->stats.n; i++) {
		k = a->stats.p + i * se + KEY_OFF;
		while (h < a->hist.n &&
		       memcmp(a->hist.p + h * he + KEY_OFF, k, ksz) < 0)
			h++;
		for (first = h; h < a->hist.n &&
		     memcmp(a->hist.p + h * he + KEY_OFF, k, ksz) == 0; h++) {
			memcpy(&slot, a->hist.p + h * he + 4, sizeof(slot));
			memcpy(&c, a->hist.p + h * he + a->hist.ksz, sizeof(c));
			if (slot < HIST_NBUCKETS)
				a->slot[slot] += c;
		}
		memcpy(&st, k + ksz, sizeof(st));
		fn(k, &st, a->slot, arg);
		for (; first < h; first++) {
			memcpy(&slot, a->hist.p + first * he + 4, sizeof(slot));
			if (slot < HIST_NBUCKETS)
				a->slot[slot] = 0;
		}
	}
	return 0;
}

void agg_lost(const struct agg *a, uint64_t *keys, uint64_t *slots,
	      uint64_t *unsettled)
{
	uint32_t k = AGG_DROP_KEYS, s = AGG_DROP_SLOTS;

	bpf_map_sum_u64(a->fds[M_DROPS], &k, keys);
	bpf_map_sum_u64(a->fds[M_DROPS], &s, slots);
	*unsettled = a->unsettled;
}

void agg_free(struct agg *a)
{
	if (!a)
		return;
	free(a->stats.p);
	free(a->hist.p);
	free(a->slot);
	free(a);
}
