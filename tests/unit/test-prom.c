/* The Prometheus exposition of a log-linear histogram: every exported
 * bucket is at most 10% of its lower bound wide, the buckets are
 * cumulative and end in +Inf = _count, and the p99 Prometheus computes
 * from them (histogram_quantile's linear interpolation) is within 10% of
 * the exact p99 of the samples.  Also the ADDR:PORT parser. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "histo.h"
#include "prom.h"
#include "tap.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Prometheus's histogram_quantile over the exposition text in b. */
static double prom_quantile(const char *text, double q, int *nbuckets)
{
	double le[1024], cum[1024], rank, lo, c0;
	const char *p = text;
	int n = 0, i;

	while ((p = strstr(p, "_bucket{")) && n < 1024) {
		const char *l = strstr(p, "le=\"");

		if (!l)
			break;
		l += 4;
		le[n] = strncmp(l, "+Inf", 4) == 0 ? INFINITY : strtod(l, NULL);
		cum[n++] = strtod(strchr(l, '}') + 1, NULL);
		p = l;
	}
	*nbuckets = n;
	if (n < 2)
		return NAN;
	rank = q * cum[n - 1];
	for (i = 0; i < n && cum[i] < rank; i++)
		;
	if (i == n - 1)
		return le[n - 2];
	lo = i ? le[i - 1] : 0;
	c0 = i ? cum[i - 1] : 0;
	return lo + (le[i] - lo) * (rank - c0) / (cum[i] - c0);
}

static void check_dist(const char *what, double (*draw)(void))
{
	enum { N = 200000 };
	static uint64_t v[N];
	static __u64 slot[HIST_NBUCKETS];
	struct prom_buf b = { 0 };
	uint64_t sum = 0, exact;
	double got, err;
	int i, nb;

	memset(slot, 0, sizeof(slot));
	for (i = 0; i < N; i++) {
		v[i] = (uint64_t)draw();
		sum += v[i];
		slot[hist_bucket(v[i])]++;
	}
	prom_histogram(&b, "x_seconds", "op=\"GET\"", slot, sum);
	qsort(v, N, sizeof(v[0]), cmp_u64);
	exact = v[(size_t)(0.99 * N) - 1];
	got = prom_quantile(b.p, 0.99, &nb) * 1e9;
	err = fabs(got - (double)exact) / (double)exact;
	ok(err <= 0.10, "%s: p99 from %d exported buckets %.0f ns, exact %llu "
	   "ns, off by %.2f%%", what, nb, got, (unsigned long long)exact,
	   err * 100);
	ok(strstr(b.p, "x_seconds_count{op=\"GET\"} 200000\n") &&
	   strstr(b.p, "x_seconds_bucket{op=\"GET\",le=\"+Inf\"} 200000\n"),
	   "%s: +Inf and _count hold every sample", what);
	free(b.p);
}

/* Latencies like a RocksDB get: 2-40 us, a tail to a few ms. */
static double lognormal(void)
{
	double u1 = uniform() + 1e-12, u2 = uniform();
	double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);

	return exp(log(8000) + 0.9 * z);
}

static double bimodal(void)
{
	return uniform() < 0.985 ? 1500 + 3000 * uniform()
				 : 2e6 + 8e6 * uniform();
}

static double wide(void)
{
	return exp(log(200) + uniform() * log(1e7));
}

int main(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	uint32_t j, worst_j = 0;
	double worst = 0, w;

	for (j = 1; j + 1 < PROM_NBUCKETS; j++) {
		w = (double)(prom_le_ns(j) - prom_le_ns(j - 1)) /
		    (double)prom_le_ns(j - 1);
		if (w > worst) {
			worst = w;
			worst_j = j;
		}
	}
	ok(worst <= 0.10 + 1e-12, "widest exported bucket: %.2f%% of its lower "
	   "bound (bucket %u)", worst * 100, worst_j);
	ok(prom_le_ns(0) == 16 && prom_le_ns(1) == 17 && prom_le_ns(4) == 20 &&
	   prom_le_ns(5) == 22 && prom_le_ns(10) == 32 && prom_le_ns(11) == 34,
	   "bounds: 16, 17, ... 20, 22, ... 32, 34 ns");
	for (j = 0, w = 1; j < HIST_NBUCKETS - 1; j++)
		if (hist_high(j) > prom_le_ns(prom_bucket_of(j)) ||
		    (prom_bucket_of(j) &&
		     hist_low(j) < prom_le_ns(prom_bucket_of(j) - 1)))
			w = 0;
	ok(w == 1, "every log-linear bucket lies inside its exported bucket");
	check_dist("log-normal", lognormal);
	check_dist("bimodal", bimodal);
	check_dist("7 decades", wide);

	ok(prom_parse_addr("127.0.0.1:9435", &ss, &len) == 0 &&
	   ss.ss_family == AF_INET &&
	   ntohs(((struct sockaddr_in *)&ss)->sin_port) == 9435,
	   "127.0.0.1:9435");
	ok(prom_parse_addr(":9435", &ss, &len) == 0 &&
	   ((struct sockaddr_in *)&ss)->sin_addr.s_addr == htonl(INADDR_ANY),
	   ":9435 is every address");
	ok(prom_parse_addr("[::1]:80", &ss, &len) == 0 &&
	   ss.ss_family == AF_INET6, "[::1]:80");
	ok(prom_parse_addr("localhost:80", &ss, &len) != 0 &&
	   prom_parse_addr("127.0.0.1", &ss, &len) != 0 &&
	   prom_parse_addr("127.0.0.1:0", &ss, &len) != 0 &&
	   prom_parse_addr("127.0.0.1:65536", &ss, &len) != 0 &&
	   prom_parse_addr("[::1:80", &ss, &len) != 0 &&
	   prom_parse_addr("1.2.3.4.5:80", &ss, &len) != 0,
	   "names, missing or bad ports and bad addresses are refused");
	return done_testing();
}
