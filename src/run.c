#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "run.h"
#include "util.h"

int run_find_target(struct run *r, const struct target_opts *o,
		    bool use_default, const char *what_file)
{
	char detail[160];
	pid_t pid = o->pid;
	int err;

	r->has_target = false;
	if (o->binary) {
		/* with -p: that one object, in that process */
		err = pid ? target_from_pid_path(&r->t, pid, o->binary) :
			    target_from_path(&r->t, o->binary);
		if (err == -ESRCH)
			msg("no process with PID %d; check the PID with ps",
			    pid);
		else if (err == -ENXIO)
			msg("process %d does not map %s; see the objects it "
			    "maps in /proc/%d/maps", pid, o->binary, pid);
		else if (err == -ENOENT)
			msg("no such file %s; pass %s", o->binary, what_file);
		else if (err == -EISDIR)
			msg("%s is not a regular file; pass %s", o->binary,
			    what_file);
		else if (err)
			msg("cannot trace %s: %s", o->binary, strerror(-err));
		r->has_target = !err;
		return err;
	}
	if (!pid && !use_default)
		return 0;
	if (!pid) {
		err = target_default_pid(&pid, detail, sizeof(detail));
		if (err == -ESRCH)
			msg("%s; start the node, or pass -p PID%s", detail,
			    what_file ? " or -b PATH" : "");
		else if (err)
			msg("%s; pick one with -p PID", detail);
		if (err)
			return err;
	}
	err = target_from_pid(&r->t, pid);
	if (err == -ESRCH && target_is_zombie(pid))
		msg("process %d is a zombie: it has exited and no thread is "
		    "left to trace; pass a live process", pid);
	else if (err == -ESRCH && use_default)
		msg("no process with PID %d; check it with pgrep -x %s", pid,
		    TARGET_DEFAULT_COMM);
	else if (err == -ESRCH)
		msg("no process with PID %d; check the PID with ps", pid);
	else if (err == -EACCES)
		msg("cannot inspect PID %d: %s; run as root, or as the user "
		    "it runs as", pid, strerror(-err));
	else if (err)
		msg("cannot inspect PID %d: %s", pid, strerror(-err));
	r->has_target = !err;
	return err;
}

/* Tracepoints are compiled against their tracefs format: find them all
 * first, so that a missing one is named rather than a compile error. */
static int check_tracepoints(const struct run *r)
{
	const struct plan_probe *p;
	int i, id;

	for (i = 0; i < r->plan.n; i++) {
		p = &r->plan.v[i];
		if (p->kind != PROBE_TRACEPOINT)
			continue;
		id = tracepoint_id(p->category, p->name);
		if (id == -ENODEV)
			msg("tracefs is not mounted; mount it with 'mount -t "
			    "tracefs nodev /sys/kernel/tracing' (or run "
			    "ckb-check --fix)");
		else if (id == -ENOENT)
			msg("this kernel has no tracepoint %s:%s", p->category,
			    p->name);
		else if (id < 0)
			msg("cannot read tracepoint %s:%s in tracefs: %s%s",
			    p->category, p->name, strerror(-id),
			    id == -EACCES ? "; run as root" : "");
		if (id < 0)
			return id;
	}
	return 0;
}

/* Scope the programs to the target PID (the "config" map of
 * programs/target.bpf.h), when the text has that map. */
static int set_tgid(struct run *r)
{
	uint64_t tgid = (uint64_t)r->t.pid;
	uint32_t key = 0;
	int cfg = bpf_obj_map(&r->obj, "config"), rc;

	rc = cfg < 0 ? 0 : bpf_map_set(cfg, &key, &tgid);
	if (rc)
		msg("cannot configure the BPF program: %s", strerror(-rc));
	return rc;
}

int run_load(struct run *r, const char *text, const char *const *cflags,
	     int ncflags)
{
	static struct bpf_prog_req progs[IMAGE_MAX_PROGS];
	struct bpf_build b = { .text = text, .cflags = cflags,
			       .ncflags = ncflags, .progs = progs,
			       .no_cache = r->no_cache };
	const struct plan_probe *p;
	char err[512];
	int i, k, rc;

	rc = check_tracepoints(r);
	if (rc)
		return rc;
	r->multi = uprobe_multi_usable();
	for (i = 0; i < r->plan.n; i++) {
		p = &r->plan.v[i];
		for (k = 0; k < b.nprogs; k++)
			if (strcmp(progs[k].name, p->prog) == 0)
				break;
		if (k < b.nprogs)
			continue;
		if (b.nprogs == IMAGE_MAX_PROGS) {
			msg("more than %d BPF programs", IMAGE_MAX_PROGS);
			return -E2BIG;
		}
		progs[b.nprogs].name = p->prog;
		progs[b.nprogs].type = probe_kind_prog_type(p->kind);
		progs[b.nprogs].attach_type =
			(p->kind == PROBE_UPROBE || p->kind == PROBE_URETPROBE) &&
			r->multi ? ATTACH_UPROBE_MULTI : -1;
		b.nprogs++;
	}
	rc = bpf_build_load(&b, &r->obj, err, sizeof(err));
	if (rc) {
		msg("%s", err);
		return rc;
	}
	return set_tgid(r);
}

int run_retarget(struct run *r, const struct target *nt)
{
	char from[32], to[32], *path;
	struct plan_probe *p;
	size_t nf;
	int i;

	snprintf(from, sizeof(from), "/proc/%d/", r->t.pid);
	snprintf(to, sizeof(to), "/proc/%d/", nt->pid);
	nf = strlen(from);
	for (i = 0; i < r->plan.n; i++) {
		p = &r->plan.v[i];
		if (!p->path || strncmp(p->path, from, nf) != 0)
			continue;
		if (asprintf(&path, "%s%s", to, p->path + nf) < 0)
			return -ENOMEM;
		free(p->path);
		p->path = path;
	}
	r->t = *nt;
	return set_tgid(r);
}

int run_maps(const struct run *r, const char *const *names, int n, int *fds)
{
	int i;

	for (i = 0; i < n; i++) {
		fds[i] = bpf_obj_map(&r->obj, names[i]);
		if (fds[i] < 0) {
			msg("BPF map %s not found", names[i]);
			return fds[i];
		}
	}
	return 0;
}

/* name and n, as fmt puts them, onto buf at *used; sep before all but
 * the first */
static void skipped_add(char *buf, size_t len, size_t *used, const char *sep,
			const char *fmt, const char *name, uint64_t n)
{
	int w;

	if (*used >= len)
		return;
	w = snprintf(buf + *used, len - *used, fmt, *used ? sep : "", name,
		     (unsigned long long)n);
	if (w > 0)
		*used += (size_t)w;
}

void run_skips_read(const struct run *r, struct run_skips *k)
{
	size_t tused = 0, jused = 0;
	const char *name;
	uint64_t n;
	int i;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < r->obj.nprogs; i++) {
		if (bpf_prog_skipped(r->obj.prog_fds[i], &n) || !n)
			continue;
		k->n += n;
		name = r->obj.prog_names[i];
		/* BCC's TRACEPOINT_PROBE(cat, event) is tracepoint__cat__event */
		if (!strncmp(name, "tracepoint__", 12) && strstr(name + 12, "__"))
			name = strstr(name + 12, "__") + 2;
		skipped_add(k->text, sizeof(k->text), &tused, ", ", "%s%s %llu",
			    name, n);
		skipped_add(k->json, sizeof(k->json), &jused, ",",
			    "%s\"%s\":%llu", name, n);
	}
}

void run_skips_json(FILE *f, const struct run_skips *k)
{
	fprintf(f, ",\"skipped_runs\":%llu,\"skipped_by\":{%s}",
		(unsigned long long)k->n, k->json);
}

void run_skips_say(const struct run_skips *k)
{
	if (k->n)
		msg("the kernel skipped %llu runs of its programs (%s): another "
		    "BPF program or BPF call held that CPU, so counts may be "
		    "short by that many", (unsigned long long)k->n, k->text);
}

static const char *const kind_names[] = {
	[PROBE_UPROBE] = "uprobe", [PROBE_URETPROBE] = "uretprobe",
	[PROBE_TRACEPOINT] = "tracepoint", [PROBE_PERF] = "perf event",
};

static int attach_fail(const struct plan_probe *p, int rc)
{
	const char *hint = rc == -EMFILE ? "; raise ulimit -n (a descriptor "
					   "per probe)" : "";

	if (p->kind == PROBE_UPROBE || p->kind == PROBE_URETPROBE)
		msg("cannot attach %s to %s in %s: %s%s", kind_names[p->kind],
		    p->what, p->path, strerror(-rc),
		    rc == -EOPNOTSUPP ? " (USDT semaphores need Linux 4.20+)"
				      : hint);
	else
		msg("cannot attach %s to %s: %s%s", kind_names[p->kind],
		    p->what, strerror(-rc), hint);
	return rc;
}

/* Every uprobe of this program, kind and file as one link, from entry
 * i on; marks them done. */
static int attach_link(struct run *r, int i, bool *done, int pfd)
{
	const struct plan_probe *p = &r->plan.v[i], *o;
	uint64_t *offs, *refs;
	uint32_t n = 0;
	int k, rc;

	offs = calloc((size_t)r->plan.n, sizeof(*offs));
	refs = calloc((size_t)r->plan.n, sizeof(*refs));
	if (!offs || !refs) {
		free(offs);
		free(refs);
		return -ENOMEM;
	}
	for (k = i; k < r->plan.n; k++) {
		o = &r->plan.v[k];
		if (done[k] || o->kind != p->kind ||
		    strcmp(o->prog, p->prog) != 0 ||
		    strcmp(o->path, p->path) != 0)
			continue;
		done[k] = true;
		offs[n] = o->offset;
		refs[n++] = o->ref_ctr;
		vmsg("%s %s at %s+0x%llx -> %s (link)", kind_names[o->kind],
		     o->what, o->path, (unsigned long long)o->offset, o->prog);
	}
	rc = probes_add_uprobes(&r->ps, pfd, p->path, offs, refs, n, r->t.pid,
				p->kind == PROBE_URETPROBE, true);
	free(offs);
	free(refs);
	return rc;
}

static int attach_one(struct run *r, int i, bool *done)
{
	const struct plan_probe *p = &r->plan.v[i];
	int pfd = bpf_obj_prog(&r->obj, p->prog);

	if (pfd < 0)
		return pfd;
	switch (p->kind) {
	case PROBE_UPROBE:
	case PROBE_URETPROBE:
		if (r->multi)
			return attach_link(r, i, done, pfd);
		vmsg("%s %s at %s+0x%llx -> %s", kind_names[p->kind], p->what,
		     p->path, (unsigned long long)p->offset, p->prog);
		return probes_add_uprobes(&r->ps, pfd, p->path, &p->offset,
					  &p->ref_ctr, 1, r->t.pid,
					  p->kind == PROBE_URETPROBE, false);
	case PROBE_TRACEPOINT:
		vmsg("tracepoint %s -> %s", p->what, p->prog);
		return probes_add_tracepoint(&r->ps, pfd, p->category,
					     p->name);
	case PROBE_PERF:
		vmsg("%s -> %s", p->what, p->prog);
		return probes_add_perf(&r->ps, pfd, p->type, p->config,
				       p->freq);
	}
	return -EINVAL;
}

int run_attach(struct run *r)
{
	bool *done = calloc((size_t)r->plan.n + 1, sizeof(*done));
	int pass, i, rc = 0;

	if (!done)
		return -ENOMEM;
	for (pass = 0; pass < 2 && !rc; pass++) {
		for (i = 0; i < r->plan.n && !rc; i++) {
			if (done[i] ||
			    (r->plan.v[i].kind == PROBE_URETPROBE) != pass)
				continue;
			rc = attach_one(r, i, done);
			done[i] = true;
			if (rc)
				attach_fail(&r->plan.v[i], rc);
		}
	}
	free(done);
	if (rc)
		probes_detach(&r->ps);
	return rc;
}

void run_detach(struct run *r)
{
	probes_detach(&r->ps);
}

void run_close(struct run *r)
{
	probes_detach(&r->ps);
	bpf_obj_close(&r->obj);
	plan_free(&r->plan);
}

int run_plan_prune(struct run *r)
{
	int i, k = 0, dropped = 0;

	for (i = 0; i < r->plan.n; i++) {
		if (bpf_obj_prog(&r->obj, r->plan.v[i].prog) < 0) {
			vmsg("no program %s loaded for %s; not attached",
			     r->plan.v[i].prog, r->plan.v[i].what);
			free(r->plan.v[i].path);
			dropped++;
			continue;
		}
		r->plan.v[k++] = r->plan.v[i];
	}
	r->plan.n = k;
	return dropped;
}
