/* The set of attached probes of one run; everything it attaches, it
 * detaches. */
#ifndef CKBTRACE_PROBES_H
#define CKBTRACE_PROBES_H

#include <stddef.h>
#include <sys/types.h>

#include "catalog.h"

struct probe_set {
	int n, cap;
	int *fds;		/* perf events, or uprobe_multi links */
	int nentry;		/* entry probes come first in fds */
};

/* Attach every resolved site: all entry probes first, then all return
 * probes, so that no return is seen before the entries are in place.
 * prog_fd(name) gives the loaded program of a BPF function name.  With
 * multi, the programs were loaded for uprobe_multi links and each
 * program gets one link per file; otherwise one perf event per site.
 * 0, or -errno with the failing symbol named in err; on failure nothing
 * stays attached. */
int probes_attach(struct probe_set *ps, const struct resolution *r,
		  pid_t pid, bool multi,
		  int (*prog_fd)(const char *name, void *arg), void *arg,
		  char *err, size_t errlen);

/* Detach all: entries first, so calls in flight still reach their
 * return probe, then returns. */
void probes_detach(struct probe_set *ps);

#endif
