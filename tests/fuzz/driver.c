/* The fuzz harnesses as plain programs: every file named (a directory:
 * every file in it, sorted) goes through LLVMFuzzerTestOneInput once,
 * one TAP line each.  A crash or a failed invariant aborts the run, which
 * the TAP driver reports.  With no argument: the harness's kept
 * regression inputs, REGRESS_DIR. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../unit/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run_file(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *in = fopen(path, "rb");

	if (!in) {
		ok(0, "%s: cannot open", path);
		return;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			buf = realloc(buf, cap);
			if (!buf) {
				fprintf(stderr, "out of memory reading %s\n", path);
				exit(99);
			}
		}
		n = fread(buf + len, 1, cap - len, in);
		if (!n)
			break;
		len += n;
	}
	fclose(in);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	ok(1, "%s (%zu bytes)", path, len);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_path(const char *path)
{
	struct dirent **ents;
	struct stat st;
	char sub[4096];
	int i, n;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	n = scandir(path, &ents, NULL, by_name);
	if (n < 0) {
		ok(0, "%s: cannot list", path);
		return;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(sub, sizeof(sub), "%s/%s", path,
				 ents[i]->d_name);
			run_file(sub);
		}
		free(ents[i]);
	}
	free(ents);
}

int main(int argc, char **argv)
{
	int i;

	/* stdout is the TAP stream; keep it in order with any report on
	 * stderr */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		run_path(REGRESS_DIR);
	for (i = 1; i < argc; i++)
		run_path(argv[i]);
	if (tap_n == 0)
		ok(0, "no input files");
	return done_testing();
}
