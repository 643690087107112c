/* A Prometheus endpoint (--prometheus ADDR:PORT): GET /metrics served by
 * libmicrohttpd (opened with dlopen() when the option is used) from the
 * tool's own loop (no thread), in the text
 * exposition format 0.0.4.  The tool writes its metrics into a buffer
 * when a scrape arrives; this module adds the process's own (CPU
 * seconds, RSS) and ckbtrace_build_info. */
#ifndef CKBTRACE_PROM_H
#define CKBTRACE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <linux/types.h>

/* A growing text buffer. */
struct prom_buf {
	char *p;
	size_t len, cap;
	bool failed;		/* out of memory: the scrape gets a 500 */
};

/* printf into the buffer. */
void prom_printf(struct prom_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "# HELP name help\n# TYPE name type\n" */
void prom_family(struct prom_buf *b, const char *name, const char *type,
		 const char *help);

/* One histogram series from a log-linear histogram (programs/hist.h) of
 * nanoseconds: cumulative buckets with le in seconds (prom_le()), from the
 * bucket below the first non-empty one to the last non-empty one, then
 * +Inf, _sum (sum_ns in seconds) and _count.  labels: 'op="GET",pid="1"'. */
void prom_histogram(struct prom_buf *b, const char *name, const char *labels,
		    const __u64 *slot, uint64_t sum_ns);

/* The exported buckets: the log-linear buckets merged so that a bucket is
 * at most 10% of its lower bound wide (4 single sub-buckets then 6 pairs
 * per power of two; one bucket below 16 ns).  The exported bucket that
 * histogram bucket i falls in, and the upper bound in ns of exported
 * bucket j. */
uint32_t prom_bucket_of(uint32_t i);
uint64_t prom_le_ns(uint32_t j);
#define PROM_NBUCKETS (prom_bucket_of(HIST_NBUCKETS - 1) + 1)

/* Called for each scrape: append the tool's metrics to b. */
typedef void (*prom_fill_fn)(struct prom_buf *b, void *arg);

struct prom;

/* Parse "ADDR:PORT" ("127.0.0.1:9435", "[::1]:9435", ":9435" for every
 * address) into ss: 0 or -EINVAL. */
int prom_parse_addr(const char *s, struct sockaddr_storage *ss,
		    socklen_t *len);

/* Listen on the address and serve /metrics through fill; tool names the
 * tool in ckbtrace_build_info.  NULL with one line on stderr on failure. */
struct prom *prom_open(const char *addr, const char *tool, prom_fill_fn fill,
		       void *arg);

/* Serve what arrives during up to timeout_ms milliseconds, then return:
 * the tool's sleep between polls of its maps. */
void prom_wait(struct prom *p, int timeout_ms);

/* Scrapes served so far. */
uint64_t prom_scrapes(const struct prom *p);

void prom_close(struct prom *p);

#endif
