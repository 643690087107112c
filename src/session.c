#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../programs/rdblat.h"
#include "bpfsys.h"
#include "session.h"
#include "unprobed.h"
#include "util.h"

int session_find_target(struct session *s)
{
	pid_t pids[8];
	int n, i, err;

	if (s->binary) {
		err = s->pid ? target_from_pid_path(&s->t, s->pid, s->binary) :
			       target_from_path(&s->t, s->binary);
		if (err == -ESRCH)
			msg("no process with PID %d; check it with pgrep -x ckb",
			    s->pid);
		else if (err == -ENXIO)
			msg("process %d does not map %s; see its objects in "
			    "/proc/%d/maps", s->pid, s->binary, s->pid);
		else if (err == -ENOENT)
			msg("no such file %s; pass the node executable or its "
			    "librocksdb.so", s->binary);
		else if (err == -EISDIR)
			msg("%s is not a regular file; pass the node executable "
			    "or its librocksdb.so", s->binary);
		else if (err)
			msg("cannot trace %s: %s", s->binary, strerror(-err));
		return err;
	}
	if (!s->pid) {
		n = target_find_comm("ckb", pids, 8);
		if (n == 0) {
			msg("no process named ckb; start the node, or pass "
			    "-p PID or -b PATH");
			return -ESRCH;
		}
		if (n > 1) {
			fprintf(stderr, "%s: %d processes named ckb (PIDs",
				prog_name, n);
			for (i = 0; i < n && i < 8; i++)
				fprintf(stderr, " %d", pids[i]);
			fprintf(stderr, "); pick one with -p PID\n");
			return -EEXIST;
		}
		s->pid = pids[0];
	}
	err = target_from_pid(&s->t, s->pid);
	if (err == -ESRCH)
		msg("no process with PID %d; check it with pgrep -x ckb",
		    s->pid);
	else if (err)
		msg("cannot inspect PID %d: %s", s->pid, strerror(-err));
	return err;
}

static int explain_unresolved(struct session *s)
{
	char what[1024], remedy[PATH_MAX + 64];
	int err = catalog_explain(&s->r, &s->t, s->mask, what, sizeof(what),
				  remedy, sizeof(remedy));

	msg("%s; %s", what, remedy);
	return err;
}

int session_resolve(struct session *s)
{
	uint32_t attach = catalog_closure(s->mask), missing;
	int err, i;

	err = catalog_resolve(&s->r, &s->t, attach);
	vmsg("looked at %d mapped objects; RocksDB in %d besides the "
	     "executable", s->t.nobjects, s->t.nlibs);
	if (err == -ENOEXEC) {
		msg("%s is not an ELF file; pass the node executable or "
		    "librocksdb.so", s->t.exe_shown);
		return err;
	}
	if (err) {
		msg("cannot read %s: %s", s->t.exe_shown, strerror(-err));
		return err;
	}
	missing = resolution_missing(&s->r, s->mask);
	if (missing == s->mask)
		return explain_unresolved(s);
	vmsg("%s: layer %s, %d file(s)", s->t.exe_shown,
	     layer_choice_name(s->r.choice), s->r.nfiles);
	for (i = 0; i < catalog_nops; i++)
		if (missing & (1u << i))
			session_warn_missing(s, i);
	return 0;
}

static void collect_progs(struct session *s)
{
	const char *names[2];
	int i, k, j;

	for (i = 0; i < s->r.nhits; i++) {
		names[0] = s->r.hits[i].row->entry_fn;
		names[1] = s->r.hits[i].row->return_fn;
		for (k = 0; k < 2; k++) {
			if (!names[k])
				continue;
			for (j = 0; j < s->nprogs; j++)
				if (strcmp(s->progs[j], names[k]) == 0)
					break;
			if (j == s->nprogs &&
			    s->nprogs < COMPILE_MAX_FDS - SESSION_MAX_MAPS)
				s->progs[s->nprogs++] = names[k];
		}
	}
}

int session_load(struct session *s, const char *text,
		 const char *const *cflags, int ncflags,
		 const char *const *maps, int nmaps)
{
	char dedup[32], err[512];
	const char *all[16], *all_maps[SESSION_MAX_MAPS + 1];
	struct bpf_build b = { .text = text, .cflags = all, .maps = all_maps };
	uint32_t key = 0;
	uint64_t tgid = (uint64_t)s->t.pid;
	int rc, i;

	if (ncflags > 15 || nmaps > SESSION_MAX_MAPS)
		return -E2BIG;
	snprintf(dedup, sizeof(dedup), "-DDEDUP=%d", catalog_nesting(&s->r));
	all[0] = dedup;
	for (i = 0; i < ncflags; i++)
		all[1 + i] = cflags[i];
	b.ncflags = 1 + ncflags;
	for (i = 0; i < nmaps; i++)
		all_maps[i] = maps[i];
	all_maps[nmaps] = "config";
	b.nmaps = nmaps + 1;
	s->multi = uprobe_multi_usable();
	b.attach_type = s->multi ? ATTACH_UPROBE_MULTI : -1;
	collect_progs(s);
	b.progs = s->progs;
	b.nprogs = s->nprogs;
	rc = bpf_build_load(&b, s->prog_fds, s->map_fds, err, sizeof(err));
	if (rc) {
		msg("%s", err);
		s->nprogs = 0;
		return rc;
	}
	s->nmaps = nmaps + 1;
	rc = bpf_map_set(s->map_fds[nmaps], &key, &tgid);
	if (rc)
		msg("cannot configure the BPF program: %s", strerror(-rc));
	return rc;
}

static int prog_fd_of(const char *name, void *arg)
{
	struct session *s = arg;
	int i;

	for (i = 0; i < s->nprogs; i++)
		if (strcmp(s->progs[i], name) == 0)
			return s->prog_fds[i];
	return -ENOENT;
}

int session_attach(struct session *s)
{
	char err[512];
	int rc;

	rc = probes_attach(&s->ps, &s->r, s->t.pid, s->multi, prog_fd_of, s,
			   err, sizeof(err));
	if (rc)
		msg("%s", err);
	return rc;
}

bool session_has_op(const struct session *s, int op)
{
	return (s->mask & (1u << op)) && !resolution_missing(&s->r, 1u << op);
}

void session_announce(const struct session *s, const char *what)
{
	int op, nops = 0;

	for (op = 0; op < catalog_nops; op++)
		nops += session_has_op(s, op);
	if (s->t.pid)
		fprintf(stderr, "Tracing %s of %d RocksDB operations (%d "
			"%s, %s) in PID %d (%s)... Hit Ctrl-C to end.\n",
			what, nops, s->ps.n, s->multi ? "uprobe links" : "probes",
			layer_choice_name(s->r.choice), s->t.pid,
			s->t.exe_shown);
	else
		fprintf(stderr, "Tracing %s of %d RocksDB operations (%d "
			"%s, %s) in every process using %s... Hit Ctrl-C to "
			"end.\n", what, nops, s->ps.n,
			s->multi ? "uprobe links" : "probes",
			layer_choice_name(s->r.choice), s->t.exe_shown);
	session_announce_unprobed(s);
}

void session_close(struct session *s)
{
	int i;

	probes_detach(&s->ps);
	for (i = 0; i < s->nprogs; i++)
		close(s->prog_fds[i]);
	for (i = 0; i < s->nmaps; i++)
		close(s->map_fds[i]);
	s->nprogs = 0;
	s->nmaps = 0;
	resolution_free(&s->r);
}
