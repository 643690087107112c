/* Log-linear latency buckets shared by the BPF programs and user space.
 * Values below 2^HIST_SUB_BITS get one bucket each; above that, every power
 * of two is split into 2^HIST_SUB_BITS equal sub-buckets, so a bucket is at
 * most 1/16 (6.25%) of its lower bound wide. */
#ifndef CKBTRACE_HIST_H
#define CKBTRACE_HIST_H

#include <linux/types.h>

#define HIST_SUB_BITS 4
#define HIST_SUB (1 << HIST_SUB_BITS)
#define HIST_MAX_EXP 47
#define HIST_NBUCKETS ((HIST_MAX_EXP - HIST_SUB_BITS + 2) * HIST_SUB)

static inline __u32 hist_log2(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

static inline __u32 hist_bucket(__u64 v)
{
	__u32 e, sub;

	if (v < HIST_SUB)
		return (__u32)v;
	e = hist_log2(v);
	if (e > HIST_MAX_EXP)
		return HIST_NBUCKETS - 1;
	sub = (__u32)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return (e - HIST_SUB_BITS + 1) * HIST_SUB + sub;
}

#endif
