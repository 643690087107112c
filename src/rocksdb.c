#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../programs/rdblat.h"
#include "cli.h"
#include "rocksdb.h"
#include "unprobed.h"
#include "util.h"

#define WHAT_FILE "the node executable, its librocksdb.so or a plugin holding RocksDB"

bool rocksdb_opt(struct rocksdb_run *s, int opt, const char *arg)
{
	char bad[64];

	switch (opt) {
	case 'p':
		s->topt.pid = cli_pid(arg);
		return true;
	case 'b':
		s->topt.binary = arg;
		return true;
	case 'o':
		if (catalog_parse_ops(arg, &s->mask, bad, sizeof(bad)) != 0)
			usage_fail("unknown operation '%s'", bad);
		s->explicit_ops = true;
		return true;
	}
	return false;
}

void rocksdb_opts_check(const struct rocksdb_run *s)
{
	/* -p with -b is one object in one process */
	(void)s;
}

static int explain_unresolved(struct rocksdb_run *s)
{
	char what[1024], remedy[PATH_MAX + 64];
	int err = catalog_explain(&s->r, &s->run.t, s->mask, what,
				  sizeof(what), remedy, sizeof(remedy));

	msg("%s; %s", what, remedy);
	return err;
}

static int resolve(struct rocksdb_run *s)
{
	uint32_t attach = catalog_closure(s->mask), missing;
	const struct target *t = &s->run.t;
	int err, i;

	err = catalog_resolve(&s->r, t, attach);
	if (err == -ENOEXEC) {
		msg("%s is not an ELF file; pass " WHAT_FILE, t->exe_shown);
		return err;
	}
	if (err) {
		msg("cannot read %s: %s", t->exe_shown, strerror(-err));
		return err;
	}
	if (t->pid)
		vmsg("looked at %d mapped objects; RocksDB in %d besides the "
		     "executable", t->nobjects, t->nlibs);
	missing = resolution_missing(&s->r, s->mask);
	if (missing == s->mask)
		return explain_unresolved(s);
	vmsg("%s: layer %s, %d file(s)", t->exe_shown,
	     layer_choice_name(s->r.choice), s->r.nfiles);
	for (i = 0; i < catalog_nops; i++)
		if (missing & (1u << i))
			rocksdb_warn_missing(s, i);
	return 0;
}

/* Every site of every resolved row: its entry and return programs. */
static int plan_sites(struct rocksdb_run *s)
{
	const struct catalog_hit *h;
	int i, k, err = 0;

	for (i = 0; i < s->r.nhits && !err; i++) {
		h = &s->r.hits[i];
		for (k = 0; k < h->nsites && !err; k++) {
			if (h->row->entry_fn)
				err = plan_uprobe(&s->run.plan, h->row->entry_fn,
						  s->r.files[h->file].path,
						  h->offset[k], false, 0,
						  h->row->symbol);
			if (!err && h->row->return_fn)
				err = plan_uprobe(&s->run.plan,
						  h->row->return_fn,
						  s->r.files[h->file].path,
						  h->offset[k], true, 0,
						  h->row->symbol);
		}
	}
	if (err)
		msg("cannot plan the probes: %s", strerror(-err));
	return err;
}

int rocksdb_open(struct rocksdb_run *s)
{
	int err = run_find_target(&s->run, &s->topt, true, WHAT_FILE);

	if (!err)
		err = resolve(s);
	if (!err)
		err = plan_sites(s);
	return err;
}

void rocksdb_cflag(const struct rocksdb_run *s, char *buf, size_t len)
{
	snprintf(buf, len, "-DDEDUP=%d", catalog_nesting(&s->r));
}

int rocksdb_load(struct rocksdb_run *s, const char *text,
		 const char *const *cflags, int ncflags)
{
	const char *all[16];
	char dedup[32];
	int i;

	if (ncflags > 15)
		return -E2BIG;
	rocksdb_cflag(s, dedup, sizeof(dedup));
	all[0] = dedup;
	for (i = 0; i < ncflags; i++)
		all[1 + i] = cflags[i];
	return run_load(&s->run, text, all, 1 + ncflags);
}

bool rocksdb_has_op(const struct rocksdb_run *s, int op)
{
	return (s->mask & (1u << op)) && !resolution_missing(&s->r, 1u << op);
}

void rocksdb_announce(const struct rocksdb_run *s, const char *what)
{
	const struct run *r = &s->run;
	int op, nops = 0;

	for (op = 0; op < catalog_nops; op++)
		nops += rocksdb_has_op(s, op);
	fprintf(stderr, "Tracing %s of %d RocksDB operations (%d %s, %s) in ",
		what, nops, r->ps.n, r->multi ? "uprobe links" : "probes",
		layer_choice_name(s->r.choice));
	if (r->t.pid)
		fprintf(stderr, "PID %d (%s)", r->t.pid, r->t.exe_shown);
	else if (s->r.nfiles > 1 && r->t.needed[0])
		/* the probes are in the library the executable links */
		fprintf(stderr, "every process using %s (linked by %s)",
			s->r.shown[1], r->t.exe_shown);
	else
		fprintf(stderr, "every process using %s", r->t.exe_shown);
	fprintf(stderr, "... Hit Ctrl-C to end.\n");
	rocksdb_announce_unprobed(s);
}

void rocksdb_close(struct rocksdb_run *s)
{
	run_close(&s->run);
	resolution_free(&s->r);
}
