/* Log-linear buckets: every value lands in the bucket whose bounds hold
 * it, buckets are at most 1/16 of their value wide, and interpolated
 * percentiles stay within that bound of the exact ones. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histo.h"
#include "tap.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next_u64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double uniform(void)
{
	return (double)(next_u64() >> 11) / 9007199254740992.0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void check_buckets(void)
{
	uint32_t i, bad_edges = 0, bad_width = 0, bad_order = 0;
	uint64_t v;

	for (i = 0; i < HIST_NBUCKETS - 1; i++) {
		if (hist_bucket(hist_low(i)) != i ||
		    hist_bucket(hist_high(i) - 1) != i)
			bad_edges++;
		if (hist_high(i) != hist_low(i + 1))
			bad_order++;
		if (i >= HIST_SUB &&
		    (double)(hist_high(i) - hist_low(i)) / (double)hist_low(i) >
			    1.0 / HIST_SUB + 1e-12)
			bad_width++;
	}
	ok(bad_edges == 0, "both edges of every bucket map back to it (%u bad)",
	   bad_edges);
	ok(bad_order == 0, "buckets tile the line without gaps (%u bad)",
	   bad_order);
	ok(bad_width == 0, "no bucket is wider than 1/16 of its low bound");
	ok(hist_bucket(0) == 0 && hist_bucket(15) == 15 && hist_bucket(16) == 16,
	   "small values are exact");
	v = 1ull << 47;
	ok(hist_bucket(v * 2) == HIST_NBUCKETS - 1 &&
	   hist_bucket(UINT64_MAX) == HIST_NBUCKETS - 1,
	   "values past 2^48 ns land in the last bucket");
	ok(hist_bucket(1000) == hist_bucket(1023) && hist_bucket(1024) != hist_bucket(1023),
	   "1000 and 1023 share a bucket, 1024 starts a new power");
}

static double exact_pct(const uint64_t *sorted, size_t n, double p)
{
	size_t idx = (size_t)ceil(p / 100.0 * (double)n);

	return (double)sorted[idx ? idx - 1 : 0];
}

static void check_percentiles(const char *what, uint64_t (*gen)(void))
{
	static __u64 slot[HIST_NBUCKETS], v[200000];
	const double ps[] = { 50, 90, 99, 99.9 };
	double worst = 0, est, tru, err;
	size_t i, n = sizeof(v) / sizeof(v[0]);

	memset(slot, 0, sizeof(slot));
	for (i = 0; i < n; i++) {
		v[i] = gen();
		slot[hist_bucket(v[i])]++;
	}
	qsort(v, n, sizeof(v[0]), cmp_u64);
	for (i = 0; i < sizeof(ps) / sizeof(ps[0]); i++) {
		est = hist_percentile(slot, HIST_NBUCKETS, ps[i]);
		tru = exact_pct(v, n, ps[i]);
		err = fabs(est - tru) / tru;
		if (err > worst)
			worst = err;
	}
	ok(worst <= 1.0 / HIST_SUB, "%s: p50/p90/p99/p99.9 within 6.25%% "
	   "(worst %.2f%%)", what, worst * 100);
}

static uint64_t gen_lognormal(void)
{
	double u1 = uniform() + 1e-12, u2 = uniform();
	double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);

	return (uint64_t)exp(9.0 + 1.2 * z) + 1;
}

static uint64_t gen_bimodal(void)
{
	return uniform() < 0.97 ? 2000 + next_u64() % 3000
				: 5000000 + next_u64() % 20000000;
}

static uint64_t gen_uniform(void)
{
	return 100 + next_u64() % 1000000;
}

int main(void)
{
	__u64 one[HIST_NBUCKETS] = { 0 };

	check_buckets();
	check_percentiles("log-normal around 8 us", gen_lognormal);
	check_percentiles("bimodal 2-5 us / 5-25 ms", gen_bimodal);
	check_percentiles("uniform 100 ns - 1 ms", gen_uniform);
	ok(hist_percentile(one, HIST_NBUCKETS, 50) == 0, "empty: 0");
	one[hist_bucket(5000)] = 1;
	ok(fabs(hist_percentile(one, HIST_NBUCKETS, 99) - 5000) <= 5000.0 / 16,
	   "one sample of 5000 ns reads back within a bucket");
	return done_testing();
}
