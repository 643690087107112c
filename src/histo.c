#include <string.h>

#include "histo.h"

uint64_t hist_low(uint32_t i)
{
	uint32_t e, sub;

	if (i < HIST_SUB)
		return i;
	e = i / HIST_SUB + HIST_SUB_BITS - 1;
	sub = i % HIST_SUB;
	return (uint64_t)(HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

uint64_t hist_high(uint32_t i)
{
	uint32_t e;

	if (i < HIST_SUB)
		return (uint64_t)i + 1;
	e = i / HIST_SUB + HIST_SUB_BITS - 1;
	return hist_low(i) + (1ull << (e - HIST_SUB_BITS));
}

double hist_percentile(const __u64 *slot, uint32_t n, double p)
{
	uint64_t total = 0, seen = 0;
	double rank, frac;
	uint32_t i;

	for (i = 0; i < n; i++)
		total += slot[i];
	if (!total)
		return 0;
	rank = p / 100.0 * (double)total;
	for (i = 0; i < n; i++) {
		if (!slot[i])
			continue;
		if ((double)(seen + slot[i]) >= rank) {
			frac = (rank - (double)seen) / (double)slot[i];
			if (frac < 0)
				frac = 0;
			return (double)hist_low(i) +
			       frac * (double)(hist_high(i) - hist_low(i));
		}
		seen += slot[i];
	}
	return (double)hist_high(n - 1);
}

void hist_print_log2(FILE *out, const __u64 *slot, uint32_t n,
		     const char *unit, double div)
{
	uint64_t rows[66], max = 0;
	int first = -1, last = -1, r, stars, k;
	uint32_t i;

	memset(rows, 0, sizeof(rows));
	for (i = 0; i < n; i++) {
		uint64_t lo = hist_low(i);

		r = 0;
		while (r < 64 && (2ull << r) <= lo)
			r++;
		rows[lo ? r + 1 : 0] += slot[i];
	}
	for (r = 0; r < 66; r++) {
		if (!rows[r])
			continue;
		if (first < 0)
			first = r;
		last = r;
		if (rows[r] > max)
			max = rows[r];
	}
	if (first < 0)
		return;
	fprintf(out, "%22s : %-10s %s\n", unit, "count", "distribution");
	for (r = first; r <= last; r++) {
		double lo = r ? (double)(1ull << (r - 1)) / div : 0;
		double hi = (double)((1ull << r) - 1) / div;

		stars = max ? (int)(rows[r] * 40 / max) : 0;
		fprintf(out, "%10.10g -> %-9.9g : %-10llu |", lo, hi,
			(unsigned long long)rows[r]);
		for (k = 0; k < 40; k++)
			fputc(k < stars ? '*' : ' ', out);
		fputs("|\n", out);
	}
}
