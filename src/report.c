#include <string.h>
#include <time.h>

#include "report.h"

static int escape_char(char *out, unsigned char c)
{
	switch (c) {
	case '"': return sprintf(out, "\\\"");
	case '\\': return sprintf(out, "\\\\");
	case '\n': return sprintf(out, "\\n");
	case '\r': return sprintf(out, "\\r");
	case '\t': return sprintf(out, "\\t");
	case '\b': return sprintf(out, "\\b");
	case '\f': return sprintf(out, "\\f");
	default:
		if (c < 0x20 || c == 0x7f)
			return sprintf(out, "\\u%04x", c);
		out[0] = (char)c;
		out[1] = '\0';
		return 1;
	}
}

int json_escape(char *buf, size_t len, const char *s)
{
	char tmp[8];
	size_t used = 1;
	int n;

	if (len < 3)
		return -1;
	buf[0] = '"';
	for (; *s; s++) {
		n = escape_char(tmp, (unsigned char)*s);
		if (used + (size_t)n + 2 > len) {
			buf[used] = '"';
			buf[used + 1] = '\0';
			return -1;
		}
		memcpy(buf + used, tmp, (size_t)n);
		used += (size_t)n;
	}
	buf[used++] = '"';
	buf[used] = '\0';
	return (int)used;
}

void json_string(FILE *out, const char *s)
{
	const char *run = s;
	char tmp[8];

	fputc('"', out);
	for (; *s; s++) {	/* runs that need no escape go out whole */
		escape_char(tmp, (unsigned char)*s);
		if (tmp[0] == *s && !tmp[1])
			continue;
		fwrite(run, 1, (size_t)(s - run), out);
		fputs(tmp, out);
		run = s + 1;
	}
	fwrite(run, 1, (size_t)(s - run), out);
	fputc('"', out);
}

void fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void fmt_latency(char *buf, size_t len, double ns, double div)
{
	double v = ns / div;

	if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

void fmt_wallclock(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}
