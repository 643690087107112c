/* User-space side of the log-linear histograms of programs/hist.h. */
#ifndef CKBTRACE_HISTO_H
#define CKBTRACE_HISTO_H

#include <linux/types.h>
#include <stdint.h>
#include <stdio.h>

#include "../programs/hist.h"

/* Smallest and one-past-largest value that falls in bucket i. */
uint64_t hist_low(uint32_t i);
uint64_t hist_high(uint32_t i);

/* The p-th percentile (0 < p <= 100) of the n-bucket histogram slot,
 * interpolated linearly inside its bucket; 0 when empty.  The answer is in
 * the same bucket as the true value, so it is off by less than one bucket
 * width: under 6.25% of the value. */
double hist_percentile(const __u64 *slot, uint32_t n, double p);

/* Print a histogram folded into power-of-two rows, BCC style:
 * "low -> high : count |****|", values divided by div. */
void hist_print_log2(FILE *out, const __u64 *slot, uint32_t n,
		     const char *unit, double div);

#endif
