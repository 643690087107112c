#include <errno.h>
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

static int attach_pass(struct probe_set *ps, const struct resolution *r,
		       pid_t pid, bool ret,
		       int (*prog_fd)(const char *, void *), void *arg,
		       char *err, size_t errlen)
{
	const struct catalog_hit *h;
	const char *fn;
	int i, s, pfd, fd;

	for (i = 0; i < r->nhits; i++) {
		h = &r->hits[i];
		fn = ret ? h->row->return_fn : h->row->entry_fn;
		if (!fn)
			continue;
		pfd = prog_fd(fn, arg);
		for (s = 0; s < h->nsites; s++) {
			fd = pfd < 0 ? pfd :
			     uprobe_open(pfd, r->files[h->file].path,
					 h->offset[s], pid, ret);
			if (fd < 0 || push(ps, fd) < 0) {
				if (fd >= 0)
					close(fd);
				snprintf(err, errlen,
					 "cannot attach %s to %s in %s: %s",
					 ret ? "uretprobe" : "uprobe",
					 h->row->symbol, r->files[h->file].path,
					 strerror(fd < 0 ? -fd : ENOMEM));
				return fd < 0 ? fd : -ENOMEM;
			}
			vmsg("%s %s @ 0x%llx (offset 0x%llx) -> %s",
			     ret ? "uretprobe" : "uprobe", h->row->symbol,
			     (unsigned long long)h->addr[s],
			     (unsigned long long)h->offset[s], fn);
		}
	}
	return 0;
}

int probes_attach(struct probe_set *ps, const struct resolution *r,
		  pid_t pid, int (*prog_fd)(const char *, void *), void *arg,
		  char *err, size_t errlen)
{
	int rc;

	memset(ps, 0, sizeof(*ps));
	rc = attach_pass(ps, r, pid, false, prog_fd, arg, err, errlen);
	ps->nentry = ps->n;
	if (!rc)
		rc = attach_pass(ps, r, pid, true, prog_fd, arg, err, errlen);
	if (rc)
		probes_detach(ps);
	return rc;
}

void probes_detach(struct probe_set *ps)
{
	int i;

	for (i = 0; i < ps->n; i++)
		close(ps->fds[i]);
	free(ps->fds);
	memset(ps, 0, sizeof(*ps));
}
