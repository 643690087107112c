/* Types of the keyed aggregation (agg.bpf.h), shared with user space
 * (src/agg.c).  Fixed-width only. */
#ifndef CKBTRACE_AGG_H
#define CKBTRACE_AGG_H

#include <linux/types.h>

/* Per key and interval. */
struct agg_stats {
	__u64 count;
	__u64 sum;		/* of the measured values (ns) */
	__u64 bytes;
	__u64 max;
};

/* Counters of what the maps had no room for. */
#define AGG_DROP_KEYS 0		/* a new key: the stats map was full */
#define AGG_DROP_SLOTS 1	/* a new bucket: the histogram map was full */
#define AGG_DROP_COUNT 2

#endif
