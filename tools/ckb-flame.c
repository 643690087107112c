/* ckb-flame: folded stacks -> one self-contained interactive HTML flame
 * graph that a browser opens offline. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/cli.h"
#include "../src/flame.h"
#include "../src/util.h"

static const char usage_text[] =
"USAGE: ckb-flame [-t TITLE] [-u UNIT] [-o FILE.html] [FILE...]\n"
"\n"
"Reads folded stacks (\"frame;frame;frame VALUE\" lines, root first, as\n"
"ckb-slowops -f writes them) from the files, or from standard input, and\n"
"writes one HTML page with an interactive flame graph: search, click to\n"
"zoom, frames coloured by kind (kernel, the program, RocksDB, libraries).\n"
"The page needs no network: the renderer is inside it.\n"
"\n"
"  FILE                folded stacks; several are merged; - is stdin\n"
"  -t, --title TITLE   the page's title (\"Flame graph\")\n"
"  -u, --unit UNIT     what the values count (\"samples\"; e.g.\n"
"                      \"us of latency\", \"us off CPU\")\n"
"  -o, --output FILE   write the page to FILE instead of standard output\n"
"  -h, --help          this text\n"
"\n"
"EXAMPLES:\n"
"  ckb-slowops -p PID -f -d 60 | ckb-flame -u 'us of latency' -o slow.html\n"
"  ckb-flame -t 'on-CPU, node 1' on.folded > on.html\n"
"\n"
"Exit status: 0 done, 1 a line that is not a folded stack or a file that\n"
"cannot be read or written, 2 bad usage.\n";

struct opts {
	const char *title;
	const char *unit;
	const char *output;
};

static void parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "title", required_argument, NULL, 't' },
		{ "unit", required_argument, NULL, 'u' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->title = "Flame graph";
	o->unit = "samples";
	o->output = NULL;
	while ((c = getopt_long(argc, argv, "t:u:o:h", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			o->title = optarg;
			break;
		case 'u':
			if (!*optarg)
				usage_fail("empty unit: want what the values "
					    "count, e.g. -u samples");
			o->unit = optarg;
			break;
		case 'o':
			if (!*optarg)
				usage_fail("empty output file name");
			o->output = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fprintf(stderr, "%s: see ckb-flame --help\n", prog_name);
			exit(EXIT_USAGE);
		}
	}
}

/* Add one input; 0, or 1 after saying what is wrong. */
static int read_input(struct flame *f, const char *path)
{
	bool std = strcmp(path, "-") == 0;
	const char *why = NULL, *name = std ? "<stdin>" : path;
	unsigned long line = 0;
	FILE *in = std ? stdin : fopen(path, "re");
	int err;

	if (!in) {
		msg("cannot read %s: %s", path, strerror(errno));
		return 1;
	}
	err = flame_read(f, in, &line, &why);
	if (!std)
		fclose(in);
	if (err == -EINVAL) {
		msg("%s:%lu: not a folded stack (%s); want lines of "
		    "\"frame;frame;... COUNT\", as the tools' -f writes", name,
		    line, why);
		return 1;
	}
	if (err) {
		msg("reading %s: %s", name, strerror(-err));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct flame_page page;
	struct flame *f;
	struct opts o;
	FILE *out = stdout;
	int rc = 1, i, err;

	prog_name = "ckb-flame";
	parse_opts(&o, argc, argv);
	f = flame_new();
	if (!f) {
		msg("out of memory");
		return 1;
	}
	if (optind == argc && read_input(f, "-"))
		goto out;
	for (i = optind; i < argc; i++)
		if (read_input(f, argv[i]))
			goto out;
	if (o.output && !(out = fopen(o.output, "we"))) {
		msg("cannot write %s: %s; pick another -o path", o.output,
		    strerror(errno));
		goto out;
	}
	page = (struct flame_page){ o.title, o.unit, NULL };
	err = flame_write_html(f, out, &page);
	if (!err && fflush(out) != 0)
		err = -errno;
	if (out != stdout && fclose(out) != 0 && !err)
		err = -errno;
	if (err) {
		msg("writing %s: %s%s", o.output ? o.output : "<stdout>",
		    strerror(-err), err == -ENOSPC || err == -EDQUOT ?
		    "; free some space or write elsewhere" : "");
		if (o.output)
			unlink(o.output);
		goto out;
	}
	rc = 0;
out:
	flame_free(f);
	return rc;
}
