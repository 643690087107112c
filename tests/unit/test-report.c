/* JSON string escaping and the human formats of the reports. */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tap.h"

static void esc(const char *in, const char *want)
{
	char buf[256];
	int n = json_escape(buf, sizeof(buf), in);

	ok(n > 0 && strcmp(buf, want) == 0, "escape %s -> %s (got %s)", want,
	   want, buf);
}

int main(void)
{
	char buf[64], small[8];
	char *mem = NULL;
	size_t len = 0;
	FILE *f;

	esc("plain", "\"plain\"");
	esc("a\"b", "\"a\\\"b\"");
	esc("back\\slash", "\"back\\\\slash\"");
	esc("line\nbreak\ttab\r", "\"line\\nbreak\\ttab\\r\"");
	esc("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
	esc("/proc/1/root/usr/bin/ckb", "\"/proc/1/root/usr/bin/ckb\"");
	esc("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	esc("", "\"\"");
	ok(json_escape(small, sizeof(small), "abcdefghij") == -1 &&
	   strcmp(small, "\"abcde\"") == 0,
	   "too small a buffer gives a valid truncated string (%s)", small);
	f = open_memstream(&mem, &len);
	json_string(f, "x\"\n");
	fclose(f);
	ok(strcmp(mem, "\"x\\\"\\n\"") == 0, "json_string writes the same");
	free(mem);

	fmt_bytes(buf, sizeof(buf), 812);
	ok(strcmp(buf, "812") == 0, "812 bytes");
	fmt_bytes(buf, sizeof(buf), 10035);
	ok(strcmp(buf, "9.8K") == 0, "10035 bytes is 9.8K (%s)", buf);
	fmt_bytes(buf, sizeof(buf), 12ull << 20);
	ok(strcmp(buf, "12M") == 0, "12 MiB (%s)", buf);
	fmt_latency(buf, sizeof(buf), 3210, 1e3);
	ok(strcmp(buf, "3.21") == 0, "3210 ns in us (%s)", buf);
	fmt_latency(buf, sizeof(buf), 123456789, 1e6);
	ok(strcmp(buf, "123") == 0, "123456789 ns in ms (%s)", buf);
	return done_testing();
}
