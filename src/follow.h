/* Following a traced process through restarts and upgrades (--follow):
 * remember what it runs, notice that it is gone, find the next process
 * of the same executable, and time the gap.  Knows no probe and no tool:
 * the tool re-plans and re-attaches its run (src/run.h) itself. */
#ifndef CKBTRACE_FOLLOW_H
#define CKBTRACE_FOLLOW_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "target.h"

struct follow {
	bool by_comm;			/* the default target: any process named comm */
	char comm[16];			/* the traced process's name */
	char exe[PATH_MAX];		/* its executable path, " (deleted)" removed */
	char build_id[41];		/* of that executable, "" when none */
	pid_t pid;			/* the process traced, 0 while waiting */
	pid_t old_pid;			/* the last one that went away */
	pid_t skip_pid;			/* one that could not be traced */
	pid_t fail_pid;			/* the last one that failed to attach */
	int fails;			/* its failures in a row */
	uint64_t gone_ns;		/* mono_ns() when it was seen gone */
	uint64_t restarts;		/* processes attached after the first */
	uint64_t untraced_ns;		/* summed gaps */
};

/* What one re-attach cost. */
struct follow_gap {
	pid_t old_pid, pid;
	bool rebuilt;			/* the build-id changed: symbols resolved again */
	uint64_t gap_ns;		/* seen gone -> attached again */
	int64_t lag_ns;			/* the new process started -> attached, -1 unknown */
};

/* Remember the target t the run attached to; by_comm when it was found by
 * name (no -p).  0 or -errno. */
int follow_init(struct follow *f, const struct target *t, bool by_comm);

/* The traced process is gone: mark the time. */
void follow_lost(struct follow *f, uint64_t now_ns);

/* A running process of the same executable (the same path, or, with
 * by_comm, the same name) other than the one that went away: its PID,
 * or 0 when there is none yet. */
pid_t follow_find(const struct follow *f);

/* The build-id of a process's executable into out (41 bytes, "" when it
 * has none): 0 or -errno. */
int follow_build_id(pid_t pid, char *out);

/* The new process pid is attached (rebuilt: its build-id differed):
 * fill g, count the restart, remember the new identity. */
void follow_attached(struct follow *f, pid_t pid, const char *build_id,
		     bool rebuilt, uint64_t now_ns, struct follow_gap *g);

/* Attaching to pid failed (it may be starting still): after
 * FOLLOW_TRIES failures in a row it is skipped, and that is said once. */
#define FOLLOW_TRIES 20		/* at one try per 100 ms: 2 s to become traceable */
void follow_failed(struct follow *f, pid_t pid);

/* Say that g happened: one line on stderr and, with json, one
 * {"type":"reattach",...} line on stdout; exe is the new executable as
 * shown, probes the number attached. */
void follow_report(const struct follow *f, const struct follow_gap *g,
		   const char *exe, int probes, bool json);

/* Block until a process named TARGET_DEFAULT_COMM runs or *stop is set:
 * 0, -EEXIST (several; detail says which) or -EINTR.  Says once on
 * stderr that it waits. */
int follow_wait_default(volatile sig_atomic_t *stop, char *detail,
			size_t len);

#endif
