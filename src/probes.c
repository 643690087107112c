#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfsys.h"
#include "probes.h"
#include "util.h"

static int push(struct probe_set *ps, int fd)
{
	int *n;

	if (ps->n == ps->cap) {
		n = realloc(ps->fds, sizeof(*n) * (size_t)(ps->cap ? ps->cap * 2 : 64));
		if (!n)
			return -ENOMEM;
		ps->fds = n;
		ps->cap = ps->cap ? ps->cap * 2 : 64;
	}
	ps->fds[ps->n++] = fd;
	return 0;
}

static int fail(char *err, size_t errlen, const struct catalog_hit *h,
		const struct resolution *r, bool ret, int rc)
{
	snprintf(err, errlen, "cannot attach %s to %s in %s: %s",
		 ret ? "uretprobe" : "uprobe", h->row->symbol,
		 r->files[h->file].path, strerror(-rc));
	return rc;
}

static int attach_sites(struct probe_set *ps, const struct resolution *r,
			const struct catalog_hit *h, int pfd, pid_t pid,
			bool ret, char *err, size_t errlen)
{
	int s, fd;

	for (s = 0; s < h->nsites; s++) {
		fd = uprobe_open(pfd, r->files[h->file].path, h->offset[s], pid,
				 ret);
		if (fd >= 0 && push(ps, fd) < 0) {
			close(fd);
			fd = -ENOMEM;
		}
		if (fd < 0)
			return fail(err, errlen, h, r, ret, fd);
	}
	return 0;
}

/* One link for every hit of this program in this file; marks them done. */
static int attach_link(struct probe_set *ps, const struct resolution *r,
		       int first, bool *done, int pfd, pid_t pid, bool ret,
		       char *err, size_t errlen)
{
	const struct catalog_hit *h = &r->hits[first];
	const char *fn = ret ? h->row->return_fn : h->row->entry_fn;
	uint64_t offs[CATALOG_MAX_HITS * 64];
	uint32_t n = 0;
	int i, s, fd;

	for (i = first; i < r->nhits; i++) {
		const struct catalog_hit *o = &r->hits[i];
		const char *ofn = ret ? o->row->return_fn : o->row->entry_fn;

		if (done[i] || !ofn || strcmp(ofn, fn) != 0 ||
		    o->file != h->file)
			continue;
		done[i] = true;
		for (s = 0; s < o->nsites && n < ARRAY_SIZE(offs); s++)
			offs[n++] = o->offset[s];
		vmsg("%s %s in %s -> %s (link)", ret ? "uretprobe" : "uprobe",
		     o->row->symbol, r->files[o->file].path, fn);
	}
	if (!n)
		return 0;
	fd = uprobe_multi_open(pfd, r->files[h->file].path, offs, n, pid, ret);
	if (fd >= 0 && push(ps, fd) < 0) {
		close(fd);
		fd = -ENOMEM;
	}
	return fd < 0 ? fail(err, errlen, h, r, ret, fd) : 0;
}

static int attach_pass(struct probe_set *ps, const struct resolution *r,
		       pid_t pid, bool multi, bool ret,
		       int (*prog_fd)(const char *, void *), void *arg,
		       char *err, size_t errlen)
{
	const struct catalog_hit *h;
	bool *done = calloc((size_t)r->nhits + 1, sizeof(*done));
	const char *fn;
	int i, pfd, rc = 0;

	if (!done)
		return -ENOMEM;
	for (i = 0; i < r->nhits && !rc; i++) {
		h = &r->hits[i];
		fn = ret ? h->row->return_fn : h->row->entry_fn;
		if (!fn || done[i] || !h->nsites)
			continue;
		pfd = prog_fd(fn, arg);
		if (pfd < 0)
			rc = fail(err, errlen, h, r, ret, pfd);
		else if (multi)
			rc = attach_link(ps, r, i, done, pfd, pid, ret, err,
					 errlen);
		else
			rc = attach_sites(ps, r, h, pfd, pid, ret, err, errlen);
		if (!multi)
			for (int s = 0; s < h->nsites; s++)
				vmsg("%s %s @ 0x%llx (offset 0x%llx) -> %s",
				     ret ? "uretprobe" : "uprobe",
				     h->row->symbol,
				     (unsigned long long)h->addr[s],
				     (unsigned long long)h->offset[s], fn);
	}
	free(done);
	return rc;
}

int probes_attach(struct probe_set *ps, const struct resolution *r,
		  pid_t pid, bool multi, int (*prog_fd)(const char *, void *),
		  void *arg, char *err, size_t errlen)
{
	int rc;

	memset(ps, 0, sizeof(*ps));
	rc = attach_pass(ps, r, pid, multi, false, prog_fd, arg, err, errlen);
	ps->nentry = ps->n;
	if (!rc)
		rc = attach_pass(ps, r, pid, multi, true, prog_fd, arg, err,
				 errlen);
	if (rc)
		probes_detach(ps);
	return rc;
}

struct closer {
	const int *fds;
	int n;
};

static void *close_all(void *arg)
{
	const struct closer *c = arg;
	int i;

	for (i = 0; i < c->n; i++)
		close(c->fds[i]);
	return NULL;
}

/* Closing a uprobe perf event with a BPF program waits for an RCU grace
 * period (hundreds of ms on a busy host); closing from many threads at
 * once lets the waits overlap. */
static void close_parallel(const int *fds, int n)
{
	enum { NTHREADS = 32 };
	struct closer c[NTHREADS];
	pthread_t t[NTHREADS];
	bool started[NTHREADS] = { false };
	int i, per = (n + NTHREADS - 1) / NTHREADS, done = 0;

	for (i = 0; i < NTHREADS && done < n; i++) {
		c[i].fds = fds + done;
		c[i].n = n - done < per ? n - done : per;
		done += c[i].n;
		started[i] = pthread_create(&t[i], NULL, close_all, &c[i]) == 0;
		if (!started[i])
			close_all(&c[i]);
	}
	for (i = 0; i < NTHREADS; i++)
		if (started[i])
			pthread_join(t[i], NULL);
}

void probes_detach(struct probe_set *ps)
{
	/* nothing attached yet (an early error): fds is NULL, and NULL + 0
	 * is undefined */
	if (ps->fds) {
		close_parallel(ps->fds, ps->nentry);
		close_parallel(ps->fds + ps->nentry, ps->n - ps->nentry);
	}
	free(ps->fds);
	memset(ps, 0, sizeof(*ps));
}
