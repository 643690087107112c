/* One tool run: an optional target, a plan of probes, the BPF programs
 * built for it, the probes attached.  Knows no RocksDB and no tool: a
 * RocksDB tool, a USDT tool and a system-wide tracepoint tool are all
 * one run with a different plan.  Every step prints its own one-line
 * error; run_close() undoes whatever was done. */
#ifndef CKBTRACE_RUN_H
#define CKBTRACE_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bpfsys.h"
#include "plan.h"
#include "probes.h"
#include "target.h"

struct run {
	struct target t;	/* t.pid 0: every process */
	bool has_target;	/* false: system-wide, no file */
	struct plan plan;
	bool multi;		/* uprobes as uprobe_multi links */
	bool no_cache;		/* build without the compile cache */
	struct bpf_obj obj;
	struct probe_set ps;
};

/* The target: o->binary (a file: every process using it), o->pid, or
 * when neither is given the one process named TARGET_DEFAULT_COMM if
 * use_default, else none (system-wide).  what_file says what -b wants
 * in messages ("the node executable or its librocksdb.so"); NULL for a
 * tool without -b.  0 or -errno. */
int run_find_target(struct run *r, const struct target_opts *o,
		    bool use_default, const char *what_file);

/* Check that every tracepoint of the plan exists (before BCC compiles
 * against their formats), build the plan's programs from text with
 * cflags (or take them from the cache) and load them; when the text
 * defines the "config" map (programs/target.bpf.h), scope it to the
 * target PID.  0 or -errno. */
int run_load(struct run *r, const char *text, const char *const *cflags,
	     int ncflags);

/* The fds of n maps of the loaded text: 0, or -ENOENT with the missing
 * one named on stderr. */
int run_maps(const struct run *r, const char *const *names, int n, int *fds);

/* Runs of the loaded programs the kernel skipped because another BPF
 * program (or a BPF map call from user space) held that CPU, read once
 * at the end of a run: for those with any, each program named without
 * BCC's "tracepoint__CATEGORY__" prefix. */
struct run_skips {
	uint64_t n;		/* in all */
	char text[512];		/* "program N, ..." */
	char json[512];		/* "\"program\":N,..." */
};
void run_skips_read(const struct run *r, struct run_skips *k);

/* ,"skipped_runs":N,"skipped_by":{...} for a JSON summary, onto f. */
void run_skips_json(FILE *f, const struct run_skips *k);

/* The one line on stderr; nothing when no run was skipped. */
void run_skips_say(const struct run_skips *k);

/* Attach every probe of the plan: entries (and tracepoints, perf events)
 * first, then return probes, so that no return is seen before its entry
 * is in place.  0 or -errno; on failure nothing stays attached. */
int run_attach(struct run *r);

/* Point the run at another process nt (nothing attached): the plan's
 * uprobes on files under /proc/<old PID>/ move to the new PID's, and the
 * programs are scoped to it.  The plan is otherwise kept; a builder whose
 * files changed plans again.  0 or -errno. */
int run_retarget(struct run *r, const struct target *nt);

/* Drop the plan's probes whose program was not loaded (a plan made again
 * after run_load()); how many were dropped. */
int run_plan_prune(struct run *r);

/* Detach every probe; the programs stay loaded for run_attach(). */
void run_detach(struct run *r);

/* Detach, close and free everything; safe on a partly set-up run. */
void run_close(struct run *r);

#endif
