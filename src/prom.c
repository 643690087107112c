#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>

#include "config.h"
#include "histo.h"
#include "prom.h"
#include "util.h"

/* libmicrohttpd is opened only when a tool serves metrics: it brings
 * GnuTLS and its friends (2 MB of resident memory) that a run without
 * --prometheus has no use for. */
#define MHD_SONAME "libmicrohttpd.so.12"
static struct {
	void *h;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_fdset2) *get_fdset2;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_run_from_select) *run_from_select;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
} mhd;

static int mhd_load(void)
{
	if (mhd.h)
		return 0;
	mhd.h = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!mhd.h) {
		msg("cannot load %s (%s); install libmicrohttpd12", MHD_SONAME,
		    dlerror());
		return -ENOENT;
	}
#define SYM(n)								\
	if (!(*(void **)&mhd.n = dlsym(mhd.h, "MHD_" #n))) {		\
		msg("%s has no MHD_" #n "; install libmicrohttpd12 "	\
		    "0.9.71 or later", MHD_SONAME);			\
		dlclose(mhd.h);						\
		mhd.h = NULL;						\
		return -ENOENT;						\
	}
	SYM(start_daemon) SYM(stop_daemon) SYM(get_fdset2) SYM(get_timeout)
	SYM(run_from_select) SYM(create_response_from_buffer)
	SYM(add_response_header) SYM(queue_response) SYM(destroy_response)
#undef SYM
	return 0;
}

struct prom {
	struct MHD_Daemon *d;
	int fd;
	char tool[32];
	prom_fill_fn fill;
	void *arg;
	uint64_t scrapes;
	struct prom_buf buf;
};

/* ---- the text ---- */

static void grow(struct prom_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 16384;
	char *p;

	while (cap < b->len + need + 1)
		cap *= 2;
	if (cap == b->cap)
		return;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

void prom_printf(struct prom_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	grow(b, (size_t)n);
	if (b->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void prom_family(struct prom_buf *b, const char *name, const char *type,
		 const char *help)
{
	prom_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

uint32_t prom_bucket_of(uint32_t i)
{
	uint32_t oct, sub;

	if (i < HIST_SUB)
		return 0;
	oct = i / HIST_SUB - 1;
	sub = i % HIST_SUB;
	return 1 + oct * 10 + (sub < 4 ? sub : 4 + (sub - 4) / 2);
}

uint64_t prom_le_ns(uint32_t j)
{
	uint32_t oct, k, last;

	if (j == 0)
		return hist_high(HIST_SUB - 1);
	oct = (j - 1) / 10;
	k = (j - 1) % 10;
	last = k < 4 ? k : 4 + 2 * (k - 4) + 1;
	return hist_high((oct + 1) * HIST_SUB + last);
}

/* Nanoseconds as exact decimal seconds: 1024 -> "0.000001024". */
static void fmt_seconds(char *buf, size_t len, uint64_t ns)
{
	char *e;

	snprintf(buf, len, "%llu.%09llu", (unsigned long long)(ns / 1000000000),
		 (unsigned long long)(ns % 1000000000));
	e = buf + strlen(buf) - 1;
	while (*e == '0')
		*e-- = '\0';
	if (*e == '.')
		*e = '\0';
}

void prom_histogram(struct prom_buf *b, const char *name, const char *labels,
		    const __u64 *slot, uint64_t sum_ns)
{
	static uint64_t merged[HIST_NBUCKETS];
	uint32_t i, j, n = PROM_NBUCKETS, first = n, last = 0;
	uint64_t cum = 0;
	char le[32];

	memset(merged, 0, sizeof(merged));
	for (i = 0; i < HIST_NBUCKETS; i++)
		merged[prom_bucket_of(i)] += slot[i];
	for (j = 0; j < n; j++) {
		if (!merged[j])
			continue;
		if (first == n)
			first = j;
		last = j;
	}
	if (first < n) {
		/* one empty bucket below: the lower bound of the first one */
		for (j = first ? first - 1 : 0; j <= last; j++) {
			cum += merged[j];
			fmt_seconds(le, sizeof(le), prom_le_ns(j));
			prom_printf(b, "%s_bucket{%s,le=\"%s\"} %llu\n", name,
				    labels, le, (unsigned long long)cum);
		}
	}
	prom_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
		    (unsigned long long)cum);
	fmt_seconds(le, sizeof(le), sum_ns);
	prom_printf(b, "%s_sum{%s} %s\n%s_count{%s} %llu\n", name, labels, le,
		    name, labels, (unsigned long long)cum);
}

/* The process's own: CPU seconds, RSS now and at its peak. */
static void self_metrics(struct prom *p, struct prom_buf *b)
{
	struct rusage ru;
	char statm[128];
	long pages = 0, rss = 0;
	double cpu = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	if (read_small_file("/proc/self/statm", statm, sizeof(statm)) > 0)
		sscanf(statm, "%ld %ld", &pages, &rss);
	prom_family(b, "process_cpu_seconds_total", "counter",
		    "User and system CPU time of the tracer in seconds.");
	prom_printf(b, "process_cpu_seconds_total %.3f\n", cpu);
	prom_family(b, "process_resident_memory_bytes", "gauge",
		    "Resident memory of the tracer in bytes.");
	prom_printf(b, "process_resident_memory_bytes %ld\n",
		    rss * sysconf(_SC_PAGESIZE));
	prom_family(b, "ckbtrace_peak_resident_memory_bytes", "gauge",
		    "Largest resident memory of the tracer so far in bytes.");
	prom_printf(b, "ckbtrace_peak_resident_memory_bytes %ld\n",
		    ru.ru_maxrss * 1024L);
	prom_family(b, "ckbtrace_scrapes_total", "counter",
		    "Scrapes of this endpoint served, this one included.");
	prom_printf(b, "ckbtrace_scrapes_total %llu\n",
		    (unsigned long long)p->scrapes);
	prom_family(b, "ckbtrace_build_info", "gauge",
		    "The tracer's version; always 1.");
	prom_printf(b, "ckbtrace_build_info{tool=\"%s\",version=\"%s\"} 1\n",
		    p->tool, PACKAGE_VERSION);
}

/* ---- the server ---- */

static const char index_page[] =
	"<html><head><title>ckbtrace</title></head><body>"
	"<a href=\"/metrics\">/metrics</a></body></html>\n";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

/* 200 with body, which MHD frees. */
static enum MHD_Result reply_owned(struct MHD_Connection *c, char *body,
				   size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	ret = mhd.queue_response(c, MHD_HTTP_OK, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	static const char text[] = "text/plain; charset=utf-8";
	struct prom *p = cls;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text,
			     "GET only\n", 9);
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, "text/html", index_page,
			     sizeof(index_page) - 1);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, text, "not found\n", 10);
	p->scrapes++;
	/* a fresh buffer each scrape, handed to MHD to free: one copy of the
	 * page, and (mmap'd, see prom_open) none kept between scrapes */
	memset(&p->buf, 0, sizeof(p->buf));
	p->fill(&p->buf, p->arg);
	self_metrics(p, &p->buf);
	if (p->buf.failed || !p->buf.p) {
		free(p->buf.p);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text,
			     "out of memory\n", 14);
	}
	return reply_owned(c, p->buf.p, p->buf.len);
}

int prom_parse_addr(const char *s, struct sockaddr_storage *ss,
		    socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[64];
	const char *colon = strrchr(s, ':');
	uint64_t port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (!colon || parse_u64(colon + 1, 1, 65535, &port) != 0)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (host[0] == '[') {
		if (hl < 2 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = '\0';
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ?
			0 : -EINVAL;
	}
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	*len = sizeof(*in);
	if (!host[0]) {
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		return 0;
	}
	return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
}

struct prom *prom_open(const char *addr, const char *tool, prom_fill_fn fill,
		       void *arg)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct prom *p;
	int one = 1, err;

	if (prom_parse_addr(addr, &ss, &len) != 0) {
		msg("bad --prometheus address '%s'; want ADDR:PORT, e.g. "
		    "127.0.0.1:9435", addr);
		return NULL;
	}
	if (mhd_load() != 0)
		return NULL;
	/* the page is a few hundred kB: keep such buffers mmap'd, so that
	 * each goes back to the kernel when freed instead of growing the
	 * heap (glibc raises this threshold after the first free) */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	snprintf(p->tool, sizeof(p->tool), "%s", tool);
	p->fill = fill;
	p->arg = arg;
	/* our own socket, so that a failure says why */
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0);
	if (p->fd < 0 ||
	    setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(p->fd, (struct sockaddr *)&ss, len) || listen(p->fd, 16)) {
		err = errno;
		msg("cannot listen on %s: %s%s", addr, strerror(err),
		    err == EADDRINUSE ? "; pick another port" :
		    err == EADDRNOTAVAIL ? "; use an address of this host" : "");
		goto fail;
	}
	p->d = mhd.start_daemon(MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request,
				p, MHD_OPTION_LISTEN_SOCKET, p->fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				MHD_OPTION_END);
	if (!p->d) {
		msg("cannot start the HTTP server on %s", addr);
		goto fail;
	}
	return p;
fail:
	if (p->fd >= 0)
		close(p->fd);
	free(p);
	return NULL;
}

void prom_wait(struct prom *p, int timeout_ms)
{
	uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000, now;
	MHD_UNSIGNED_LONG_LONG mhd_to;
	fd_set rs, ws, es;
	MHD_socket max;
	struct timeval tv;
	uint64_t left;

	while ((now = mono_ns()) < end) {
		FD_ZERO(&rs);
		FD_ZERO(&ws);
		FD_ZERO(&es);
		max = 0;
		left = end - now;
		if (mhd.get_fdset2(p->d, &rs, &ws, &es, &max, FD_SETSIZE) !=
		    MHD_YES)
			max = -1;
		if (mhd.get_timeout(p->d, &mhd_to) == MHD_YES &&
		    mhd_to * 1000000 < left)
			left = mhd_to * 1000000;
		tv.tv_sec = (time_t)(left / 1000000000);
		tv.tv_usec = (suseconds_t)(left % 1000000000 / 1000);
		if (select(max + 1, &rs, &ws, &es, &tv) < 0 && errno == EINTR)
			return;
		mhd.run_from_select(p->d, &rs, &ws, &es);
	}
}

uint64_t prom_scrapes(const struct prom *p)
{
	return p ? p->scrapes : 0;
}

void prom_close(struct prom *p)
{
	if (!p)
		return;
	mhd.stop_daemon(p->d);		/* closes the listening socket */
	free(p);
}
