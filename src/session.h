/* One tool run against RocksDB: find the target, resolve the catalog,
 * compile and load the BPF text, attach, and undo all of it.  Every step
 * prints its own one-line error. */
#ifndef CKBTRACE_SESSION_H
#define CKBTRACE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "compile.h"
#include "probes.h"
#include "target.h"

#define SESSION_MAX_MAPS 8	/* a tool's own, besides "config" */

struct session {
	pid_t pid;			/* -p, or 0 */
	const char *binary;		/* -b, or NULL */
	uint32_t mask;			/* operations to report */
	bool explicit_ops;		/* -o was given */
	bool multi;			/* attached as uprobe_multi links */
	struct target t;
	struct resolution r;
	struct probe_set ps;
	const char *progs[COMPILE_MAX_FDS];
	int prog_fds[COMPILE_MAX_FDS];
	int nprogs;
	int map_fds[SESSION_MAX_MAPS + 1];
	int nmaps;
};

/* -b PATH, -p PID, or the one process named ckb.  0 or -errno. */
int session_find_target(struct session *s);

/* Resolve the operations of s->mask (and those they depend on); explains
 * a target without RocksDB.  0 or -errno. */
int session_resolve(struct session *s);

/* Compile text with DEDUP and the extra -D flags (or take it from the
 * cache), load the programs the resolved rows name, fetch the maps named
 * (map_fds[0..nmaps-1]; the "config" map follows them) and scope the
 * program to the target PID.  0 or -errno. */
int session_load(struct session *s, const char *text,
		 const char *const *cflags, int ncflags,
		 const char *const *maps, int nmaps);

/* Attach every resolved site.  0 or -errno. */
int session_attach(struct session *s);

/* "Tracing N RocksDB operations (...)" on stderr. */
void session_announce(const struct session *s, const char *what);

/* Is op selected, and did it resolve? */
bool session_has_op(const struct session *s, int op);

/* Detach, close and free everything; safe on a partly set-up session. */
void session_close(struct session *s);

#endif
