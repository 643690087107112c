/* The operations the tools measure and the symbols that carry them.
 * Data, not code: an operation or an entry point is one row. */
#ifndef CKBTRACE_CATALOG_H
#define CKBTRACE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elfsym.h"
#include "target.h"

enum layer {
	LAYER_CAPI,	/* rocksdb/c.h, exact name */
	LAYER_CXX,	/* C++ entry points, demangled prefix */
	LAYER_BG,	/* background work and stalls, demangled prefix, always */
	LAYER_TALLY,	/* C API, no timing: feeds byte counts */
	LAYER_CXX_AUX,	/* C++, no timing: feeds byte counts */
	LAYER_BG_AUX,	/* no timing, always: feeds an operation's details */
};

/* What the results of an operation say (catalog_ops[].results). */
enum results {
	RESULTS_NONE,	/* nothing: iterators */
	RESULTS_READ,	/* hits, misses and errors */
	RESULTS_WRITE,	/* errors */
};

/* Which layers an operation is core to (catalog_ops[].core). */
#define CORE_CAPI 1	/* must resolve in a program that calls the C API */
#define CORE_CXX 2	/* ... in a C++ program */
#define CORE_TXN 4	/* ... in a C++ program with a TransactionDB */

struct op_info {
	const char *name;
	bool bytes;		/* carries a byte count */
	uint8_t core;		/* CORE_* */
	uint32_t needs;		/* other ops whose probes it depends on */
	bool off;		/* not probed unless asked for (-o) */
	const char *why_off;	/* why */
	enum results results;
	const char *items;	/* what its item count counts, or NULL */
	uint32_t timed_by;	/* the ops whose timing rows also time it */
	uint32_t guards;	/* ops whose calls make it (C++ layer): their
				 * probes must be there for the outermost
				 * call to be the one counted */
};

struct catalog_row {
	int op;
	enum layer layer;
	const char *symbol;	/* C name, or demangled prefix */
	const char *entry_fn;	/* BPF program at entry, or NULL */
	const char *return_fn;	/* BPF program at return, or NULL */
	bool required;		/* an aux row the op cannot do without */
};

#define CATALOG_MAX_HITS 4

struct catalog_hit {
	const struct catalog_row *row;
	int file;		/* index into the resolution's files */
	int nsites;
	uint64_t addr[CATALOG_MAX_HITS];
	uint64_t offset[CATALOG_MAX_HITS];
	uint64_t size[CATALOG_MAX_HITS];
};

#define CATALOG_MAX_FILES (1 + TARGET_MAX_LIBS)

enum layer_choice {
	CHOOSE_CAPI,	/* the program calls the C API */
	CHOOSE_CXX,	/* the program is C++ and never calls the C API */
	CHOOSE_BOTH,	/* unknown (a library, a plugin): both, deduplicated */
};

struct resolution {
	int nfiles;
	struct elf_file files[CATALOG_MAX_FILES];
	const char *shown[CATALOG_MAX_FILES];	/* each file as its user knows it */
	enum layer_choice choice;
	int nhits;
	struct catalog_hit *hits;	/* one per resolved row and file */
};

extern const struct op_info catalog_ops[];
extern const int catalog_nops;
extern const struct catalog_row catalog_rows[];
extern const int catalog_nrows;

/* Operation id by name (case-insensitive), or -1. */
int catalog_op_by_name(const char *name);

/* Parse "GET,TXN_GET" into a bit mask of op ids ("STALL" is both stall
 * rows, "all" every op); 0 or -EINVAL with the bad name copied to bad. */
int catalog_parse_ops(const char *list, uint32_t *mask, char *bad,
		      size_t badlen);

/* The operations probed when -o is not given: all but the costly ones. */
uint32_t catalog_default_mask(void);

/* Add the ops the selected ones depend on (their probes feed bytes). */
uint32_t catalog_closure(uint32_t mask);

/* Open the target's ELF files, decide the layer, and resolve every row
 * whose op is in mask.  0, or -errno from opening the executable. */
int catalog_resolve(struct resolution *r, const struct target *t,
		    uint32_t mask);
void resolution_free(struct resolution *r);

/* Ops of mask that cannot be probed: no timing row resolved, or a row
 * they need did not. */
uint32_t resolution_missing(const struct resolution *r, uint32_t mask);

/* Does the choice attach this row? */
bool catalog_row_wanted(enum layer_choice c, const struct catalog_row *row);

/* Is the row one that feeds others rather than timing an op? */
bool catalog_row_aux(const struct catalog_row *row);

const char *layer_choice_name(enum layer_choice c);

/* 1 when entry points of one op may nest on a thread (the BPF side must
 * count only the outermost: DEDUP), else 0. */
int catalog_nesting(const struct resolution *r);

/* The core operations of this target's layer: the C API set for a C API
 * program, GET, WRITE and ITER for C++ (and the transaction rows when a
 * TransactionDB is linked in), both for a library. */
uint32_t catalog_core(const struct resolution *r);

/* Why op cannot be probed in this resolution, a short clause such as
 * "no rocksdb::TransactionBaseImpl::Get( or 3 more in .dynsym (.symtab
 * stripped)". */
void catalog_why(const struct resolution *r, const struct target *t,
		 int op, char *buf, size_t len);

/* Why none of mask resolved: what, and the remedy, each one clause.
 * Returns -ENOENT, for the caller to pass on. */
int catalog_explain(const struct resolution *r, const struct target *t,
		    uint32_t mask, char *what, size_t wlen, char *remedy,
		    size_t rlen);

/* "GET,TXN_GET" (sep between names) for the ops of mask. */
void catalog_op_list(uint32_t mask, const char *sep, char *buf, size_t len);

/* As catalog_resolve with every op, but every row of every layer is
 * resolved; r->choice is still the layer ckb-rdblat would attach. */
int catalog_resolve_all(struct resolution *r, const struct target *t);

#endif
