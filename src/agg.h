/* User-space side of the keyed aggregation (programs/agg.bpf.h): close
 * an interval and read every key it saw, exactly once. */
#ifndef CKBTRACE_AGG_USER_H
#define CKBTRACE_AGG_USER_H

#include <stddef.h>
#include <stdint.h>

#include "../programs/agg.h"
#include "run.h"

struct agg;

/* One key of the interval: its stats and its histogram, HIST_NBUCKETS
 * counts (programs/hist.h). */
typedef void (*agg_fn)(const void *key, const struct agg_stats *st,
		       const uint64_t *slot, void *arg);

/* The aggregation of a loaded run whose text includes agg.bpf.h.  0 or
 * -errno (said on stderr). */
int agg_open(struct agg **a, const struct run *r);

/* Close the current interval: flip the generation, wait until no program
 * is inside the old one, hand each of its keys to fn (in key order) and
 * empty it.  0 or -errno. */
int agg_collect(struct agg *a, agg_fn fn, void *arg);

/* Since the start: keys and histogram buckets the maps had no room for,
 * and intervals closed while a program still seemed to be inside (1 s
 * waited; none expected). */
void agg_lost(const struct agg *a, uint64_t *keys, uint64_t *slots,
	      uint64_t *unsettled);

void agg_free(struct agg *a);

#endif
