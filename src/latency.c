#include <sys/time.h>

#include "histo.h"
#include "latency.h"
#include "report.h"

double lat_pct(const struct lat_row *r, double p)
{
	double v;

	if (!r->slot)
		return 0;
	v = hist_percentile((const __u64 *)r->slot, HIST_NBUCKETS, p);
	return r->max_ns && v > (double)r->max_ns ? (double)r->max_ns : v;
}

void lat_header(FILE *f, const struct lat_cols *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		fprintf(f, "%*s ", c->width[i], c->head[i]);
	fprintf(f, "%8s %8s %8s %8s %8s %8s %7s\n", "COUNT", "OPS/S", "AVG",
		"P50", "P99", "MAX", "BYTES");
}

void lat_row_text(FILE *f, const struct lat_cols *c, const struct lat_row *r,
		  double secs, double div)
{
	char avg[16], p50[16], p99[16], mx[16], by[16] = "-";
	int i;

	fmt_latency(avg, sizeof(avg),
		    r->count ? (double)r->sum_ns / (double)r->count : 0, div);
	fmt_latency(p50, sizeof(p50), lat_pct(r, 50), div);
	fmt_latency(p99, sizeof(p99), lat_pct(r, 99), div);
	fmt_latency(mx, sizeof(mx), (double)r->max_ns, div);
	if (r->bytes_known)
		fmt_bytes(by, sizeof(by), r->bytes);
	for (i = 0; i < c->n; i++)
		fprintf(f, "%*s ", c->width[i], r->label[i]);
	fprintf(f, "%8llu %8.1f %8s %8s %8s %8s %7s\n",
		(unsigned long long)r->count, (double)r->count / secs, avg, p50,
		p99, mx, by);
}

void lat_hist_text(FILE *f, const struct lat_cols *c, const struct lat_row *r,
		   const char *unit, double div)
{
	int i;

	if (!r->slot)
		return;
	fputc('\n', f);
	for (i = 0; i < c->n; i++)
		fprintf(f, "%s%s", i ? " " : "", r->label[i]);
	fprintf(f, " latency (%s):\n", unit);
	hist_print_log2(f, (const __u64 *)r->slot, HIST_NBUCKETS, unit, div);
}

static void json_labels(FILE *f, const struct lat_cols *c,
			const struct lat_row *r)
{
	int i;

	for (i = 0; i < c->n; i++) {
		fprintf(f, ",\"%s\":", c->json[i]);
		json_string(f, r->label[i]);
	}
}

void lat_row_json(FILE *f, const struct lat_cols *c, const struct lat_row *r,
		  double secs, bool hist)
{
	struct timeval tv;
	uint32_t k;
	bool first = true;

	gettimeofday(&tv, NULL);
	fprintf(f, "{\"type\":\"interval\",\"ts\":%ld.%06ld,\"interval_s\":%.3f",
		(long)tv.tv_sec, (long)tv.tv_usec, secs);
	json_labels(f, c, r);
	fprintf(f, ",\"count\":%llu,\"ops_per_s\":%.1f,\"avg_ns\":%.0f,"
		"\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"max_ns\":%llu,",
		(unsigned long long)r->count, (double)r->count / secs,
		r->count ? (double)r->sum_ns / (double)r->count : 0,
		lat_pct(r, 50), lat_pct(r, 99), (unsigned long long)r->max_ns);
	if (r->bytes_known)
		fprintf(f, "\"bytes\":%llu}\n", (unsigned long long)r->bytes);
	else
		fprintf(f, "\"bytes\":null}\n");
	if (!hist || !r->slot)
		return;
	fprintf(f, "{\"type\":\"hist\"");
	json_labels(f, c, r);
	fprintf(f, ",\"unit\":\"ns\",\"buckets\":[");
	for (k = 0; k < HIST_NBUCKETS; k++) {
		if (!r->slot[k])
			continue;
		fprintf(f, "%s[%llu,%llu,%llu]", first ? "" : ",",
			(unsigned long long)hist_low(k),
			(unsigned long long)hist_high(k),
			(unsigned long long)r->slot[k]);
		first = false;
	}
	fprintf(f, "]}\n");
}
