/* The RocksDB plan: the target (-p, -b, or the one process named ckb),
 * the catalog resolved in its files, and the uprobes that time the
 * selected operations, on a generic run.  Every step prints its own
 * one-line error. */
#ifndef CKBTRACE_ROCKSDB_H
#define CKBTRACE_ROCKSDB_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "follow.h"
#include "run.h"

struct rocksdb_run {
	struct run run;
	struct target_opts topt;	/* -p, -b */
	uint32_t mask;			/* operations to report */
	bool explicit_ops;		/* -o was given */
	struct resolution r;
};

/* Take -p, -b and -o; false for any other option.  Bad values are a
 * usage error (exit 2). */
bool rocksdb_opt(struct rocksdb_run *s, int opt, const char *arg);

/* After option parsing: -p and -b together is bad usage. */
void rocksdb_opts_check(const struct rocksdb_run *s);

/* Find the target, resolve the operations of s->mask (and those they
 * depend on) and plan their probes; explains a target without RocksDB.
 * 0 or -errno. */
int rocksdb_open(struct rocksdb_run *s);

/* The -D flag the probes need besides the tool's own: DEDUP. */
void rocksdb_cflag(const struct rocksdb_run *s, char *buf, size_t len);

/* Build and load text with DEDUP and the tool's cflags.  0 or -errno. */
int rocksdb_load(struct rocksdb_run *s, const char *text,
		 const char *const *cflags, int ncflags);

/* Is op selected, and did it resolve? */
bool rocksdb_has_op(const struct rocksdb_run *s, int op);

/* "Tracing <what> of N RocksDB operations (...)" on stderr. */
void rocksdb_announce(const struct rocksdb_run *s, const char *what);

/* --follow: the process traced went away (nothing attached) and pid runs
 * the same executable: trace it instead, with the same plan when its
 * build-id is f's, else with the symbols resolved again in the new
 * binary.  On success f and g say what happened.  0 or -errno. */
int rocksdb_follow(struct rocksdb_run *s, struct follow *f, pid_t pid,
		   struct follow_gap *g);

/* Close the ELF files the symbols came from, once the plan is made: the
 * symbol tables of a large binary are megabytes of resident memory.
 * rocksdb_has_op() and rocksdb_follow() still work. */
void rocksdb_release_files(struct rocksdb_run *s);

/* Undo everything; safe on a partly set-up run. */
void rocksdb_close(struct rocksdb_run *s);

#endif
