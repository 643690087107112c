#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpfsys.h"
#include "probes.h"
#include "util.h"

static int push(struct probe_set *ps, int fd, bool late)
{
	int cap = ps->cap ? ps->cap * 2 : 64, *fds;
	bool *l;

	if (ps->n == ps->cap) {
		fds = realloc(ps->fds, sizeof(*fds) * (size_t)cap);
		if (fds)
			ps->fds = fds;
		l = fds ? realloc(ps->late, sizeof(*l) * (size_t)cap) : NULL;
		if (!l)
			return -ENOMEM;
		ps->late = l;
		ps->cap = cap;
	}
	ps->fds[ps->n] = fd;
	ps->late[ps->n++] = late;
	return 0;
}

/* Keep fd, or close it and return the error. */
static int keep(struct probe_set *ps, int fd, bool late)
{
	int err;

	if (fd < 0)
		return fd;
	err = push(ps, fd, late);
	if (err)
		close(fd);
	return err;
}

/* Close what was added since mark. */
static void undo(struct probe_set *ps, int mark)
{
	while (ps->n > mark)
		close(ps->fds[--ps->n]);
}

int probes_add_uprobes(struct probe_set *ps, int prog_fd, const char *path,
		       const uint64_t *offsets, const uint64_t *ref_ctr_offsets,
		       uint32_t cnt, pid_t pid, bool ret, bool multi)
{
	int mark = ps->n, err = 0;
	uint32_t i;

	if (multi)
		return keep(ps, uprobe_multi_open(prog_fd, path, offsets,
						  ref_ctr_offsets, cnt, pid,
						  ret), ret);
	for (i = 0; i < cnt && !err; i++)
		err = keep(ps, uprobe_open(prog_fd, path, offsets[i], pid, ret,
					   ref_ctr_offsets ?
					   ref_ctr_offsets[i] : 0), ret);
	if (err)
		undo(ps, mark);
	return err;
}

int probes_add_tracepoint(struct probe_set *ps, int prog_fd,
			  const char *category, const char *name)
{
	int id = tracepoint_id(category, name);

	if (id < 0)
		return id;
	return keep(ps, tracepoint_open(prog_fd, id), false);
}

int probes_add_perf(struct probe_set *ps, int prog_fd, uint32_t type,
		    uint64_t config, uint64_t freq)
{
	int cpu, fd, mark = ps->n, err = 0, ncpus = bpf_ncpus();

	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;
	for (cpu = 0; cpu < ncpus && !err; cpu++) {
		fd = perf_sample_open(prog_fd, type, config, freq, cpu);
		if (fd == -ENODEV)
			continue;	/* possible but offline */
		err = keep(ps, fd, false);
	}
	if (!err && ps->n == mark)
		err = -ENODEV;
	if (err)
		undo(ps, mark);
	return err;
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

/* Closing a uprobe perf event or link with a BPF program waits for an
 * RCU grace period (hundreds of ms on a busy host); closing from many
 * threads at once lets the waits overlap. */
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
	int i, k = 0;

	/* the others to the front, the late ones after them */
	for (i = 0; i < ps->n; i++) {
		if (!ps->late[i]) {
			int fd = ps->fds[i];

			ps->fds[i] = ps->fds[k];
			ps->late[i] = ps->late[k];
			ps->fds[k] = fd;
			ps->late[k++] = false;
		}
	}
	/* nothing attached yet (an early error): fds is NULL, and NULL + 0
	 * is undefined */
	if (ps->fds) {
		close_parallel(ps->fds, k);
		close_parallel(ps->fds + k, ps->n - k);
	}
	free(ps->fds);
	free(ps->late);
	memset(ps, 0, sizeof(*ps));
}
