#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

const char *prog_name = "ckbtrace";
int verbose;

static void vmsg_out(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg_out(fmt, ap);
	va_end(ap);
}

void vmsg(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vmsg_out(fmt, ap);
	va_end(ap);
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_seconds(const char *s, double max, double *out)
{
	double v;
	char *end;

	if (!s || ((*s < '0' || *s > '9') && *s != '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || !isfinite(v))
		return -EINVAL;
	if (errno == ERANGE || v <= 0 || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

ssize_t read_small_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

int write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n) {
		w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int cpus_possible(void)
{
	char buf[256], *p;
	long lo, hi, n = 0;
	ssize_t r;

	r = read_small_file("/sys/devices/system/cpu/possible", buf, sizeof(buf));
	if (r < 0)
		return (int)r;
	for (p = buf; *p && *p != '\n';) {
		lo = strtol(p, &p, 10);
		hi = lo;
		if (*p == '-')
			hi = strtol(p + 1, &p, 10);
		if (hi < lo)
			return -EINVAL;
		n = hi + 1 > n ? hi + 1 : n;
		if (*p == ',')
			p++;
	}
	return n > 0 ? (int)n : -EINVAL;
}

/* CAP_SYS_ADMIN alone, or CAP_BPF with CAP_PERFMON, lets us load tracing
 * programs and open uprobe perf events. */
int have_bpf_privileges(void)
{
	char buf[4096], *p;
	unsigned long long eff;

	if (geteuid() == 0)
		return 0;
	if (read_small_file("/proc/self/status", buf, sizeof(buf)) < 0)
		return -EPERM;
	p = strstr(buf, "CapEff:");
	if (!p)
		return -EPERM;
	eff = strtoull(p + 7, NULL, 16);
	if (eff & (1ull << 21))
		return 0;
	if ((eff & (1ull << 39)) && (eff & (1ull << 38)))
		return 0;
	return -EPERM;
}
