/* Attached probes of every kind, as file descriptors: everything added is
 * detached by probes_detach(), on every exit path. */
#ifndef CKBTRACE_PROBES_H
#define CKBTRACE_PROBES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct probe_set {
	int n, cap;
	int *fds;		/* perf events and BPF links */
	bool *late;		/* detached after the others (return probes) */
};

/* prog_fd on cnt offsets of path, scoped to pid (0: every process), with
 * USDT semaphores (ref_ctr_offsets may be NULL).  With multi, one
 * uprobe_multi link (the program was loaded for it); otherwise one perf
 * event per offset.  Return probes (ret) are detached last.  0 or -errno;
 * on failure what this call opened is closed again. */
int probes_add_uprobes(struct probe_set *ps, int prog_fd, const char *path,
		       const uint64_t *offsets, const uint64_t *ref_ctr_offsets,
		       uint32_t cnt, pid_t pid, bool ret, bool multi);

/* prog_fd on tracepoint category:name.  0, -ENODEV (no tracefs),
 * -ENOENT (no such tracepoint) or -errno. */
int probes_add_tracepoint(struct probe_set *ps, int prog_fd,
			  const char *category, const char *name);

/* prog_fd on a sampling perf event of type/config at freq Hz on every
 * online CPU.  0 or -errno. */
int probes_add_perf(struct probe_set *ps, int prog_fd, uint32_t type,
		    uint64_t config, uint64_t freq);

/* Detach all: the others first, so calls in flight still reach their
 * return probe, then the late ones; closes run in parallel, because each
 * uprobe close waits for an RCU grace period. */
void probes_detach(struct probe_set *ps);

#endif
