#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "../programs/agg.h"

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

struct lat_trow {
	char *label[LAT_MAX_LABELS];
	int rank;
	bool bytes_known;
	uint64_t count, sum, bytes, max;
	uint32_t nslots, capslots;
	struct { uint32_t slot; uint64_t n; } *slots;
};

struct lat_table {
	const struct lat_cols *c;
	struct lat_trow *rows;
	int n, cap;
	uint64_t *dense;	/* HIST_NBUCKETS, all 0 between rows */
};

struct lat_table *lat_table_new(const struct lat_cols *c)
{
	struct lat_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->c = c;
	t->dense = calloc(HIST_NBUCKETS, sizeof(*t->dense));
	if (!t->dense) {
		free(t);
		return NULL;
	}
	return t;
}

static void rows_clear(struct lat_table *t)
{
	int i, k;

	for (i = 0; i < t->n; i++) {
		for (k = 0; k < t->c->n; k++)
			free(t->rows[i].label[k]);
		free(t->rows[i].slots);
	}
	t->n = 0;
}

void lat_table_free(struct lat_table *t)
{
	if (!t)
		return;
	rows_clear(t);
	free(t->rows);
	free(t->dense);
	free(t);
}

static struct lat_trow *row_of(struct lat_table *t, const char *const *labels,
			       int rank)
{
	struct lat_trow *r;
	int i, k;

	for (i = 0; i < t->n; i++) {
		r = &t->rows[i];
		for (k = 0; k < t->c->n; k++)
			if (strcmp(r->label[k], labels[k]) != 0)
				break;
		if (k == t->c->n && r->rank == rank)
			return r;
	}
	if (t->n == t->cap) {
		r = realloc(t->rows, sizeof(*r) * (size_t)(t->cap ? t->cap * 2 : 64));
		if (!r)
			return NULL;
		t->rows = r;
		t->cap = t->cap ? t->cap * 2 : 64;
	}
	r = &t->rows[t->n];
	memset(r, 0, sizeof(*r));
	r->rank = rank;
	for (k = 0; k < t->c->n; k++) {
		r->label[k] = strdup(labels[k]);
		if (!r->label[k]) {
			while (k--)
				free(r->label[k]);
			return NULL;
		}
	}
	t->n++;
	return r;
}

int lat_table_add(struct lat_table *t, const char *const *labels, int rank,
		  const struct agg_stats *st, const uint64_t *slot,
		  bool bytes_known)
{
	struct lat_trow *r = row_of(t, labels, rank);
	uint32_t i;
	void *p;

	if (!r)
		return -ENOMEM;
	r->bytes_known = bytes_known;
	r->count += st->count;
	r->sum += st->sum;
	r->bytes += st->bytes;
	if (st->max > r->max)
		r->max = st->max;
	for (i = 0; i < HIST_NBUCKETS; i++) {
		if (!slot[i])
			continue;
		if (r->nslots == r->capslots) {
			p = realloc(r->slots, sizeof(*r->slots) *
				    (r->capslots ? r->capslots * 2 : 16));
			if (!p)
				return -ENOMEM;
			r->slots = p;
			r->capslots = r->capslots ? r->capslots * 2 : 16;
		}
		r->slots[r->nslots].slot = i;
		r->slots[r->nslots++].n = slot[i];
	}
	return 0;
}

static int row_cmp(const void *x, const void *y)
{
	const struct lat_trow *a = x, *b = y;
	int c = strcmp(a->label[0], b->label[0]), k;

	if (c)
		return c;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	for (k = 1; k < LAT_MAX_LABELS && a->label[k] && b->label[k]; k++) {
		c = strcmp(a->label[k], b->label[k]);
		if (c)
			return c;
	}
	return 0;
}

/* A label too wide for its column keeps its end. */
static const char *fit(const char *s, int width, char *buf, size_t len)
{
	size_t w = (size_t)(width < 0 ? -width : width), n = strlen(s);

	if (n <= w || w < 8 || w >= len)
		return s;
	snprintf(buf, len, "...%s", s + n - (w - 3));
	return buf;
}

void lat_table_print(struct lat_table *t, FILE *f, const struct lat_print *p,
		     double secs)
{
	const struct lat_cols *c = t->c;
	char shown[LAT_MAX_LABELS][128], ts[16];
	struct lat_row lr;
	struct lat_trow *r;
	uint32_t k;
	int i, j, pass;

	if (t->n > 1)	/* rows is NULL before the first row */
		qsort(t->rows, (size_t)t->n, sizeof(*t->rows), row_cmp);
	if (!p->json && p->timestamp) {
		fmt_wallclock(ts, sizeof(ts));
		fprintf(f, "%s\n", ts);
	}
	if (!p->json && t->n)
		lat_header(f, c);
	if (!p->json && !t->n)
		fprintf(f, "%s in the last %.1f s\n", p->nothing, secs);
	for (pass = 0; pass < (p->hist && !p->json ? 2 : 1); pass++) {
		for (i = 0; i < t->n; i++) {
			r = &t->rows[i];
			for (k = 0; k < r->nslots; k++)
				t->dense[r->slots[k].slot] += r->slots[k].n;
			memset(&lr, 0, sizeof(lr));
			for (j = 0; j < c->n; j++)
				lr.label[j] = p->json ? r->label[j] :
					fit(r->label[j], c->width[j], shown[j],
					    sizeof(shown[j]));
			lr.count = r->count;
			lr.sum_ns = r->sum;
			lr.max_ns = r->max;
			lr.bytes = r->bytes;
			lr.bytes_known = r->bytes_known;
			lr.slot = t->dense;
			if (p->json)
				lat_row_json(f, c, &lr, secs, p->hist);
			else if (pass == 0)
				lat_row_text(f, c, &lr, secs, p->div);
			else
				lat_hist_text(f, c, &lr, p->unit, p->div);
			for (k = 0; k < r->nslots; k++)
				t->dense[r->slots[k].slot] = 0;
		}
	}
	if (!p->json && t->n) {
		for (j = 0; j < c->n; j++)
			fprintf(f, "%*s ", c->width[j], "");
		fprintf(f, "latencies in %s\n", p->unit);
	}
	if (!p->json)
		fputc('\n', f);
	rows_clear(t);
}
