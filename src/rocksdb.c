#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../programs/rdblat.h"
#include "cli.h"
#include "rocksdb.h"
#include "follow.h"
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

static bool same_libs(const struct target *a, const struct target *b)
{
	return a->nlibs == b->nlibs;
}

/* ---- resolving again in a child (--follow, a new build) ----
 * The symbol tables a resolution reads are megabytes of resident memory
 * (2.3 MB for ckb-dbsim, more for a node); read in a child, they never
 * count in the long-running process's RSS.  The child sends back the
 * resolution's hits and the plan. */

static void put_str(FILE *f, const char *str)
{
	uint32_t n = str ? (uint32_t)strlen(str) : 0;

	fwrite(&n, sizeof(n), 1, f);
	fwrite(str, 1, n, f);
}

static char *get_str(FILE *f, char *buf, size_t len)
{
	uint32_t n;

	if (fread(&n, sizeof(n), 1, f) != 1 || n >= len ||
	    fread(buf, 1, n, f) != n)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void replan_child(struct rocksdb_run *s, FILE *f)
{
	const struct plan_probe *p;
	int32_t err, i;

	plan_free(&s->run.plan);
	resolution_free(&s->r);
	err = resolve(s);
	if (!err)
		err = plan_sites(s);
	fwrite(&err, sizeof(err), 1, f);
	if (err)
		return;
	fwrite(&s->r.choice, sizeof(s->r.choice), 1, f);
	fwrite(&s->r.nhits, sizeof(s->r.nhits), 1, f);
	fwrite(s->r.hits, sizeof(*s->r.hits), (size_t)s->r.nhits, f);
	fwrite(&s->run.plan.n, sizeof(s->run.plan.n), 1, f);
	for (i = 0; i < s->run.plan.n; i++) {
		p = &s->run.plan.v[i];
		fwrite(&p->kind, sizeof(p->kind), 1, f);
		fwrite(&p->offset, sizeof(p->offset), 1, f);
		fwrite(&p->ref_ctr, sizeof(p->ref_ctr), 1, f);
		put_str(f, p->prog);
		put_str(f, p->what);
		put_str(f, p->path);
	}
}

static int replan_read(struct rocksdb_run *s, FILE *f)
{
	char prog[64], what[128], path[PATH_MAX];
	enum probe_kind kind;
	uint64_t off, ref;
	int32_t err;
	int n, i;

	if (fread(&err, sizeof(err), 1, f) != 1)
		return -EPROTO;
	if (err)
		return err;
	plan_free(&s->run.plan);
	resolution_free(&s->r);
	s->r.hits = calloc((size_t)catalog_nrows * CATALOG_MAX_FILES,
			   sizeof(*s->r.hits));
	if (!s->r.hits)
		return -ENOMEM;
	/* the rows the hits point at are this executable's own table,
	 * at the same addresses in the child */
	if (fread(&s->r.choice, sizeof(s->r.choice), 1, f) != 1 ||
	    fread(&s->r.nhits, sizeof(s->r.nhits), 1, f) != 1 ||
	    s->r.nhits < 0 || s->r.nhits > catalog_nrows * CATALOG_MAX_FILES ||
	    fread(s->r.hits, sizeof(*s->r.hits), (size_t)s->r.nhits, f) !=
		    (size_t)s->r.nhits ||
	    fread(&n, sizeof(n), 1, f) != 1)
		return -EPROTO;
	for (i = 0; i < n; i++) {
		if (fread(&kind, sizeof(kind), 1, f) != 1 ||
		    fread(&off, sizeof(off), 1, f) != 1 ||
		    fread(&ref, sizeof(ref), 1, f) != 1 ||
		    !get_str(f, prog, sizeof(prog)) ||
		    !get_str(f, what, sizeof(what)) ||
		    !get_str(f, path, sizeof(path)))
			return -EPROTO;
		err = plan_uprobe(&s->run.plan, prog, path, off,
				  kind == PROBE_URETPROBE, ref, what);
		if (err)
			return err;
	}
	return 0;
}

static int replan_forked(struct rocksdb_run *s)
{
	FILE *f;
	int fds[2], err, status;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (pid == 0) {
		close(fds[0]);
		f = fdopen(fds[1], "w");
		if (f) {
			replan_child(s, f);
			fclose(f);
		}
		_exit(0);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	err = f ? replan_read(s, f) : -ENOMEM;
	if (f)
		fclose(f);
	else
		close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (err == -EPROTO)
		msg("cannot resolve the symbols of the new binary (its "
		    "resolution ended early)");
	return err;
}

int rocksdb_follow(struct rocksdb_run *s, struct follow *f, pid_t pid,
		   struct follow_gap *g)
{
	struct target nt;
	char bid[41] = "";
	bool rebuilt;
	int err;

	err = target_from_pid(&nt, pid);
	if (!err)
		err = follow_build_id(pid, bid);
	if (err)
		return err;
	rebuilt = strcmp(bid, f->build_id) != 0 ||
		  !same_libs(&nt, &s->run.t);
	err = run_retarget(&s->run, &nt);
	if (err)
		return err;
	if (rebuilt) {
		/* another binary: its symbols, its offsets */
		err = replan_forked(s);
		if (!err && run_plan_prune(&s->run))
			msg("warning: %s needs probes this run did not load; "
			    "restart the tool to trace every operation",
			    nt.exe_shown);
		if (err)
			return err;
	}
	err = run_attach(&s->run);
	if (!err)
		follow_attached(f, pid, bid, rebuilt, mono_ns(), g);
	return err;
}

void rocksdb_release_files(struct rocksdb_run *s)
{
	int i;

	/* the paths and facts of the files stay; only their mappings go */
	for (i = 0; i < s->r.nfiles; i++)
		elf_close(&s->r.files[i]);
}

void rocksdb_close(struct rocksdb_run *s)
{
	run_close(&s->run);
	resolution_free(&s->r);
}
