#include <stdio.h>
#include <string.h>

#include "report.h"
#include "unprobed.h"
#include "util.h"

uint32_t rocksdb_unprobed(const struct rocksdb_run *s)
{
	uint32_t all = (1u << catalog_nops) - 1, off = 0;
	int i;

	for (i = 0; i < catalog_nops; i++)
		if (catalog_ops[i].off && !(s->mask & (1u << i)))
			off |= 1u << i;
	return resolution_missing(&s->r, s->mask) |
	       (s->explicit_ops ? 0 : off & all);
}

void rocksdb_unprobed_why(const struct rocksdb_run *s, int op, char *buf,
			  size_t len)
{
	if (!(s->mask & (1u << op)) && catalog_ops[op].why_off)
		snprintf(buf, len, "%s", catalog_ops[op].why_off);
	else
		catalog_why(&s->r, &s->run.t, op, buf, len);
}

void rocksdb_warn_missing(const struct rocksdb_run *s, int op)
{
	char why[512];

	rocksdb_unprobed_why(s, op, why, sizeof(why));
	if (s->explicit_ops)
		msg("warning: cannot probe %s in %s: %s; it will not be "
		    "reported", catalog_ops[op].name, s->run.t.exe_shown, why);
	else
		vmsg("cannot probe %s: %s", catalog_ops[op].name, why);
}

void rocksdb_announce_unprobed(const struct rocksdb_run *s)
{
	uint32_t m = rocksdb_unprobed(s);
	char why[512];
	int i;
	bool first = true;

	if (!m)
		return;
	fprintf(stderr, "Not probed:");
	for (i = 0; i < catalog_nops; i++) {
		if (!(m & (1u << i)))
			continue;
		rocksdb_unprobed_why(s, i, why, sizeof(why));
		fprintf(stderr, "%s %s (%s)", first ? "" : ",",
			catalog_ops[i].name, why);
		first = false;
	}
	fprintf(stderr, ".\n");
}

void rocksdb_json_unprobed(const struct rocksdb_run *s, FILE *f)
{
	uint32_t m = rocksdb_unprobed(s);
	char why[512];
	int i;
	bool first = true;

	fprintf(f, ",\"unprobed\":{");
	for (i = 0; i < catalog_nops; i++) {
		if (!(m & (1u << i)))
			continue;
		rocksdb_unprobed_why(s, i, why, sizeof(why));
		fprintf(f, "%s\"%s\":", first ? "" : ",", catalog_ops[i].name);
		json_string(f, why);
		first = false;
	}
	fprintf(f, "}");
}
