/* The rows of a latency report, as tables and JSON lines, for tools that
 * report one row per key (thread and syscall, device and class, ...):
 * COUNT OPS/S AVG P50 P99 MAX BYTES after the key's label columns. */
#ifndef CKBTRACE_LATENCY_H
#define CKBTRACE_LATENCY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LAT_MAX_LABELS 4

/* The label columns: header text, width (negative: left-aligned, as
 * printf), and JSON field name. */
struct lat_cols {
	int n;
	const char *head[LAT_MAX_LABELS];
	int width[LAT_MAX_LABELS];
	const char *json[LAT_MAX_LABELS];
};

/* One key over one interval. */
struct lat_row {
	const char *label[LAT_MAX_LABELS];
	uint64_t count, sum_ns, max_ns, bytes;
	bool bytes_known;		/* else BYTES shows "-" / null */
	const uint64_t *slot;		/* HIST_NBUCKETS, or NULL */
};

/* The p-th percentile of a row, never above its max. */
double lat_pct(const struct lat_row *r, double p);

void lat_header(FILE *f, const struct lat_cols *c);

/* Latencies divided by div (1e3: us, 1e6: ms). */
void lat_row_text(FILE *f, const struct lat_cols *c, const struct lat_row *r,
		  double secs, double div);

/* A BCC-style histogram of the row, titled with its labels. */
void lat_hist_text(FILE *f, const struct lat_cols *c, const struct lat_row *r,
		   const char *unit, double div);

/* {"type":"interval","ts":...,"interval_s":..,<labels>,"count":..,
 * "ops_per_s":..,"avg_ns":..,"p50_ns":..,"p99_ns":..,"max_ns":..,
 * "bytes":..} and, with hist, {"type":"hist",<labels>,"unit":"ns",
 * "buckets":[[low,high,count],...]}. */
void lat_row_json(FILE *f, const struct lat_cols *c, const struct lat_row *r,
		  double secs, bool hist);

/* ---- a report table: rows merged by label, printed and emptied ---- */

struct agg_stats;
struct lat_table;

struct lat_print {
	bool json, hist, timestamp;
	double div;		/* 1e3: us, 1e6: ms */
	const char *unit;	/* "us", "ms" */
	const char *nothing;	/* the line when no row: "no file I/O" */
};

struct lat_table *lat_table_new(const struct lat_cols *c);
void lat_table_free(struct lat_table *t);

/* Add one key's interval into the row with these labels (one per label
 * column), made if new; rows sort by the first label, then rank, then the
 * other labels.  0 or -ENOMEM. */
int lat_table_add(struct lat_table *t, const char *const *labels, int rank,
		  const struct agg_stats *st, const uint64_t *slot,
		  bool bytes_known);

/* Print every row (table, histograms or JSON lines as p says) for an
 * interval of secs seconds, then empty the table. */
void lat_table_print(struct lat_table *t, FILE *f, const struct lat_print *p,
		     double secs);

#endif
